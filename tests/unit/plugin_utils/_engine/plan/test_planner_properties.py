"""Planner invariants over generated hosts (hypothesis), all on the session's real PKI."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.context import binding_reasons
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import group_key
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan, apply_step
from tests.support.snapshots import iis_binding, receive_connector, send_connector, tls_name
from tests.unit.scenario_helpers import RECEIVE, SEND, run, snap, want, with_pfx

# max_examples and derandomisation come from the profile (tests/conftest.py: "dev" by default, "ci" under CI).
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COPIES = ("leaf", "renewed", "expiring", "expired", "rebranded", "self_signed")
SERVICES = st.lists(st.sampled_from(["SMTP", "IIS", "POP"]), unique=True, max_size=3)


@st.composite
def hosts(draw):
    present = draw(st.lists(st.sampled_from(COPIES), unique=True, min_size=1, max_size=5))
    keyless = draw(st.sets(st.sampled_from(present)))
    intended = draw(st.sampled_from(("renewed", "rebranded", "leaf")))
    services = {name: draw(SERVICES) for name in present}
    internal = draw(st.sampled_from([*present, None]))
    connector_target = draw(st.sampled_from([*present, None]))
    iis_target = draw(st.sampled_from([*present, None]))
    use_pfx = draw(st.booleans())
    duplicates = draw(st.sampled_from(("remove", "report")))
    # Option retire: any certificate but the intended one, present or not.
    retire = draw(st.lists(st.sampled_from([c for c in COPIES if c != intended]), unique=True, max_size=3))
    return present, keyless, intended, services, internal, connector_target, iis_target, use_pfx, duplicates, retire


def build(pki, drawn):
    present, keyless, intended, services, internal, connector_target, iis_target, use_pfx, duplicates, *rest = drawn
    retire = tuple(getattr(pki, n).thumbprint for n in (rest[0] if rest else ()))
    issued = {name: getattr(pki, name) for name in present}
    my = tuple(c.without_key() if name in keyless else c for name, c in issued.items())
    name = tls_name(issued[connector_target]) if connector_target else None
    host = snap(
        pki,
        my=my,
        services={issued[n].thumbprint: s for n, s in services.items()},
        internal_transport=issued[internal].thumbprint if internal else None,
        send_connectors=[send_connector(SEND, name)],
        receive_connectors=[receive_connector(RECEIVE, name)],
        hybrid=name,
        iis_bindings=[iis_binding(issued[iis_target].thumbprint if iis_target else None)],
    )
    target = getattr(pki, intended)
    kw = {"duplicates": duplicates, "retire": retire}
    desired = with_pfx(target, **kw) if use_pfx else want(target, **kw)
    return host, desired


def covering_services(host: Snapshot, final: Snapshot, thumbprint: str, intended: str | None) -> set[str]:
    """Services that stay served when ``thumbprint`` goes: on a same-named copy that stays, or on the
    intended certificate (the only cover option retire counts, since a retired certificate may have no copy)."""
    covered = surviving_copies_services(host, final, thumbprint)
    if intended is not None and host.exchange is not None and final.find(intended) is not None:
        covered |= set(host.exchange.services_of(intended))
    return covered


def surviving_copies_services(host: Snapshot, final: Snapshot, thumbprint: str) -> set[str]:
    """Services carried by copies with the same issuer + subject that are still in My after the whole plan.

    The oracle's own notion of "covered": it does not ask the engine which copy it keeps. A service on a
    removed duplicate stops mattering only when a same-named copy that stays carries it too.
    """
    removed = host.find(thumbprint)
    if removed is None or host.exchange is None:
        return set()
    key = group_key(removed)
    return {
        service
        for item in final.store("My")
        if item.thumbprint != thumbprint and group_key(item) == key
        for service in host.exchange.services_of(item.thumbprint)
    }


# Found by hypothesis: in a duplicate group that is not the intended certificate's, the expired copy
# carries POP; the copy kept for that group (the one still valid) carries POP too, so removing the expired
# one is safe. The old oracle only counted the intended certificate's services as covering.
GROUP_KEEPER_COVERS = (
    ["leaf", "renewed", "expiring", "expired", "rebranded"],
    {"leaf", "renewed"},
    "rebranded",
    {"leaf": [], "renewed": [], "expiring": ["SMTP", "IIS", "POP"], "expired": ["SMTP", "IIS", "POP"], "rebranded": []},
    "leaf",
    "leaf",
    "leaf",
    False,
    "remove",
)


# Found by hypothesis (seed 3): the keyless duplicate `leaf` carries SMTP, and its group's other copy
# `expiring` (SMTP too) is named in retire, so both go. Removing `leaf` is safe: the plan's first step
# enabled SMTP on the intended certificate, which stays. The oracle was wrong, not the engine: for a
# duplicate it counted only same-named copies that stay as cover, never the intended certificate,
# which it already counted for option retire. Both now use covering_services.
DUPLICATE_COVERED_BY_INTENDED = (
    ["expiring", "leaf", "rebranded"],
    {"leaf"},
    "rebranded",
    {"expiring": ["SMTP"], "leaf": ["SMTP"], "rebranded": []},
    "expiring",
    "expiring",
    "expiring",
    False,
    "remove",
    ["expiring"],
)


# Found by hypothesis: keyless copies, the intended certificate `rebranded`, option retire naming `renewed`
# (with and without SMTP on the expired and expiring copies).
RETIRE_WITH_SMTP_ON_OLD_COPIES = (
    ["leaf", "renewed", "expiring", "expired", "rebranded"],
    set(),
    "rebranded",
    {"leaf": [], "renewed": [], "expiring": ["SMTP"], "expired": ["SMTP"], "rebranded": []},
    "leaf",
    "leaf",
    "leaf",
    False,
    "remove",
    ["renewed"],
)
RETIRE_NOTHING_BOUND = (
    ["leaf", "renewed", "expiring", "expired", "rebranded"],
    set(),
    "rebranded",
    {"leaf": [], "renewed": [], "expiring": [], "expired": [], "rebranded": []},
    "leaf",
    "leaf",
    "leaf",
    False,
    "remove",
    ["renewed"],
)


@given(drawn=hosts())
@example(drawn=RETIRE_WITH_SMTP_ON_OLD_COPIES)
@example(drawn=RETIRE_NOTHING_BOUND)
@example(drawn=GROUP_KEEPER_COVERS)
@example(drawn=DUPLICATE_COVERED_BY_INTENDED)
@SETTINGS
def test_plan_invariants(pki, drawn):
    host, desired = build(pki, drawn)
    analysis = run(pki, host, desired)
    plan = analysis.plan
    intended = desired.intended_thumbprint
    removed = [s.params["thumbprint"] for s in plan if s.action == "remove"]
    # Never removes the intended certificate.
    assert intended not in removed
    # Every remove follows a backup of the same thumbprint and store.
    for index, step in enumerate(plan):
        if step.action == "remove":
            assert any(
                b.action == "backup"
                and b.params["thumbprint"] == step.params["thumbprint"]
                and b.params["store"] == step.params["store"]
                for b in plan[:index]
            )
    # Order: chain -> import -> services -> bindings -> backup -> remove.
    order = [
        "install_root",
        "install_intermediate",
        "import_pfx",
        "enable_services",
        "set_connector",
        "set_hybrid",
        "set_iis_binding",
        "backup",
        "remove",
    ]
    ranks = [order.index(s.action) for s in plan]
    assert ranks == sorted(ranks)
    if desired.duplicates == "report":
        assert all(t in desired.retire for t in removed)  # only what option retire names explicitly
    # Nothing binds a certificate at the moment it is removed (every step before it, earlier removals
    # included, has run), except services that a same-named copy staying on the host also carries.
    final = apply_plan(host, plan)
    moment = host
    for step in plan:
        if step.action == "remove":
            thumbprint = step.params["thumbprint"]
            covered = covering_services(moment, final, thumbprint, intended)
            assert binding_reasons(moment, thumbprint, covered_services=tuple(covered)) == [], thumbprint
            # A same-named copy that has a private key stays whenever the removed one had one (a duplicate;
            # option retire asks for the name itself to go).
            removed_item = moment.find(thumbprint)
            if removed_item is not None and removed_item.has_private_key and thumbprint not in desired.retire:
                assert any(group_key(i) == group_key(removed_item) and i.has_private_key for i in final.store("My"))
        moment = apply_step(moment, step)
    # Option retire: removes only what it names or duplicates; a retired certificate present at the end is
    # explained by a finding saying what binds it; nothing retired and present is silently left alone.
    staged = apply_plan(host, [s for s in plan if s.action not in ("backup", "remove")])
    for thumbprint in removed:
        assert thumbprint in desired.retire or _in_duplicate_group(staged, thumbprint), thumbprint
    bound = {f.evidence["thumbprint"] for f in analysis.findings if f.code == "retired_certificate_bound"}
    for thumbprint in desired.retire:
        if host.find(thumbprint) is not None and not analysis.blockers:
            assert (thumbprint in removed) != (thumbprint in bound), thumbprint
    # Deterministic.
    again = run(pki, host, desired)
    assert [s.to_request() for s in again.plan] == [s.to_request() for s in plan]
    # Converges: the host after the plan needs no further plan, and is compliant unless something blocks it
    # or an error is left that no step can fix.
    after = run(pki, apply_plan(host, plan), desired)
    assert after.plan == [] or analysis.blockers
    if not analysis.blockers:
        assert after.compliant or after.blockers or all(f.fix is None for f in after.errors), after.codes()


def _in_duplicate_group(host: Snapshot, thumbprint: str) -> bool:
    item = host.find(thumbprint)
    return item is not None and sum(group_key(i) == group_key(item) for i in host.store("My")) > 1


@given(drawn=hosts())
@SETTINGS
def test_compliant_hosts_get_an_empty_plan(pki, drawn):
    host, desired = build(pki, drawn)
    analysis = run(pki, host, desired)
    if analysis.compliant:
        assert analysis.plan == []
