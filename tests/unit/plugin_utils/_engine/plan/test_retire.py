"""Option retire: the old certificate of a subject-change renewal leaves My once nothing binds it."""

from __future__ import annotations

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from tests.support.snapshots import iis_binding, receive_connector, send_connector, tls_name
from tests.unit.scenario_helpers import RECEIVE, SEND, actions, by_code, run, snap, want


def _after_repoint(pki, *, old_services=(), send_name=None, iis=None, internal=None, extra_send=()):
    """Every declared binding already names the rebranded certificate; the old leaf is still in My."""
    new = tls_name(pki.rebranded)
    return snap(
        pki,
        my=(pki.rebranded, pki.leaf),
        services={pki.rebranded.thumbprint: ["IIS", "SMTP"], pki.leaf.thumbprint: list(old_services)},
        internal_transport=internal or pki.rebranded.thumbprint,
        send_connectors=[send_connector(SEND, send_name or new), *extra_send],
        receive_connectors=[receive_connector(RECEIVE, new)],
        hybrid=new,
        iis_bindings=[iis_binding(iis or pki.rebranded.thumbprint)],
    )


def test_an_unbound_retired_certificate_is_backed_up_then_removed(pki):
    host = _after_repoint(pki)
    analysis = run(pki, host, want(pki.rebranded, retire=(pki.leaf.thumbprint,)))
    assert actions(analysis) == [("backup", pki.leaf.thumbprint), ("remove", pki.leaf.thumbprint)]
    [present] = by_code(analysis, "retired_certificate_present")
    assert present.severity == "error" and present.fix == "remove"
    assert present.evidence["thumbprint"] == pki.leaf.thumbprint
    assert not analysis.compliant
    # Idempotent: once it is gone, nothing is planned and nothing is reported.
    after = run(pki, apply_plan(host, analysis.plan), want(pki.rebranded, retire=(pki.leaf.thumbprint,)))
    assert after.plan == [] and after.compliant, after.codes()


def test_without_retire_the_unbound_old_certificate_stays(pki):
    analysis = run(pki, _after_repoint(pki), want(pki.rebranded))
    assert analysis.plan == [] and analysis.compliant, analysis.codes()


def test_a_retired_certificate_that_is_absent_needs_nothing(pki):
    host = _after_repoint(pki)
    gone = apply_plan(host, run(pki, host, want(pki.rebranded, retire=(pki.leaf.thumbprint,))).plan)
    analysis = run(pki, gone, want(pki.rebranded, retire=(pki.expired.thumbprint,)))
    assert analysis.plan == [] and analysis.compliant


def test_retire_is_planned_after_the_repoint_it_depends_on(pki):
    """The send connector still names the old certificate; the plan repoints it first, then retires."""
    host = _after_repoint(pki, send_name=tls_name(pki.leaf))
    analysis = run(pki, host, want(pki.rebranded, retire=(pki.leaf.thumbprint,)))
    assert actions(analysis) == [
        ("set_connector", SEND),
        ("backup", pki.leaf.thumbprint),
        ("remove", pki.leaf.thumbprint),
    ]


def _bound_cases(pki):
    return {
        "undeclared connector": (
            {"extra_send": [send_connector("Legacy relay", tls_name(pki.leaf))]},
            "send connector Legacy relay names it",
        ),
        "IIS binding": ({"iis": pki.leaf.thumbprint}, "IIS binding Default Web Site *:443: uses it"),
        "internal transport": ({"internal": pki.leaf.thumbprint}, "internal transport certificate"),
        "service the intended lacks": ({"old_services": ["POP"]}, "Exchange services POP"),
    }


@pytest.mark.parametrize(
    "case", ["undeclared connector", "IIS binding", "internal transport", "service the intended lacks"]
)
def test_a_retired_certificate_still_bound_is_kept_and_explained(pki, case):
    changes, reason = _bound_cases(pki)[case]
    host = _after_repoint(pki, **changes)
    desired = want(pki.rebranded, retire=(pki.leaf.thumbprint,), iis_bindings=())
    analysis = run(pki, host, desired)
    assert ("remove", pki.leaf.thumbprint) not in actions(analysis)
    assert ("backup", pki.leaf.thumbprint) not in actions(analysis)
    [bound] = by_code(analysis, "retired_certificate_bound")
    assert bound.severity == "error" and bound.fix is None
    assert any(reason in r for r in bound.evidence["bound_by"]), bound.evidence["bound_by"]
    assert reason in bound.message
    assert not by_code(analysis, "retired_certificate_present")


def test_a_service_the_intended_certificate_also_carries_does_not_bind(pki):
    host = _after_repoint(pki, old_services=["SMTP"])
    analysis = run(pki, host, want(pki.rebranded, retire=(pki.leaf.thumbprint,)))
    assert ("remove", pki.leaf.thumbprint) in actions(analysis)


def test_two_retired_copies_one_connector_names_together_do_not_both_go(pki):
    """Each alone is named by a connector together with the other; removing both would leave it naming nothing."""
    host = snap(
        pki,
        my=(pki.rebranded, pki.leaf, pki.renewed),
        services={pki.rebranded.thumbprint: ["IIS", "SMTP"]},
        internal_transport=pki.rebranded.thumbprint,
        send_connectors=[send_connector(SEND, tls_name(pki.rebranded)), send_connector("Legacy", tls_name(pki.leaf))],
        receive_connectors=[receive_connector(RECEIVE, tls_name(pki.rebranded))],
        hybrid=tls_name(pki.rebranded),
        iis_bindings=[iis_binding(pki.rebranded.thumbprint)],
    )
    desired = want(pki.rebranded, retire=(pki.leaf.thumbprint, pki.renewed.thumbprint), duplicates="report")
    analysis = run(pki, host, desired)
    removed = [t for a, t in actions(analysis) if a == "remove"]
    assert len(removed) == 1
    [bound] = by_code(analysis, "retired_certificate_bound")
    assert bound.evidence["thumbprint"] not in removed
    assert "send connector Legacy names it" in " ".join(bound.evidence["bound_by"])


def test_backups_all_come_before_removals(pki):
    host = snap(
        pki,
        my=(pki.rebranded, pki.leaf, pki.expiring),
        services={pki.rebranded.thumbprint: ["IIS", "SMTP"]},
        internal_transport=pki.rebranded.thumbprint,
        send_connectors=[send_connector(SEND, tls_name(pki.rebranded))],
        receive_connectors=[receive_connector(RECEIVE, tls_name(pki.rebranded))],
        hybrid=tls_name(pki.rebranded),
        iis_bindings=[iis_binding(pki.rebranded.thumbprint)],
    )
    analysis = run(pki, host, want(pki.rebranded, retire=(pki.leaf.thumbprint, pki.expiring.thumbprint)))
    assert [a for a, _t in actions(analysis)] == ["backup", "backup", "remove", "remove"]


def test_retire_thumbprints_are_normalised(pki):
    messy = "\u200e" + " ".join(pki.leaf.thumbprint[i : i + 2].lower() for i in range(0, 40, 2))
    desired = want(pki.rebranded, retire=(messy, pki.leaf.thumbprint))
    assert desired.retire == (pki.leaf.thumbprint,)


def test_retire_rejects_a_malformed_thumbprint(pki):
    with pytest.raises(InputError, match=r"option retire: 'not-a-thumbprint' is not a thumbprint"):
        want(pki.rebranded, retire=("not-a-thumbprint",))


def test_retiring_the_intended_certificate_is_an_input_error(pki):
    with pytest.raises(InputError, match=r"option retire: .* is the intended certificate"):
        want(pki.rebranded, retire=(pki.rebranded.thumbprint.lower(),))


def test_retire_default_is_empty():
    assert DesiredState().retire == ()
