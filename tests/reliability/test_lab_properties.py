"""Hypothesis against the lab: generated servers, the real cert_compliance through ansible-playbook.

tests/unit/plugin_utils/_engine/plan/test_planner_properties.py holds the engine-level invariants on
generated snapshots. Here hypothesis generates *host folders* (the documented
format, written through the case lab): which of the PKI's certificates sit in
``My`` (same-named duplicates, an expiring and an expired one, another subject),
which have no private key, which services each has, what IIS, the internal
transport, the send and receive connectors and the hybrid configuration name,
and whether an intermediate is missing. One example is a batch of hosts and one
ansible-playbook run applies cert_compliance to all of them; the invariants are
asserted on the lab's files and the apply observer's log:

* no step of any apply made a reference dangle that did not dangle before it
  (a connector, binding, service entry or the internal transport naming a
  certificate that is not in ``My``);
* the intended certificate is never removed, and no certificate's bytes change;
* only certificates in ``My`` ever leave a store, and each one left a backup the
  server verified;
* a failure is a message naming the host, never a traceback;
* a server the run reports compliant is left alone by a second, check-mode run
  (nothing planned, nothing changed).

Examples are few and each is a batch (``HOSTS_PER_EXAMPLE`` servers), so the
test stays under two minutes; the ``ci`` profile (tests/conftest.py) makes it
deterministic.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lab.observer import read_observations
from tests.lab.scenarios import HostSpec, MyCert
from tests.lab.state import HostState
from tests.lab.winnames import tls_certificate_name
from tests.reliability.case_lab import Case, CaseLab, start_case_lab, store_contents
from tests.support.lab_plays import COMPLIANCE_TASK, compliance_play
from tests.support.playbook import run_playbook

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOSTS_PER_EXAMPLE = 8
EXAMPLES = 3
STORES = ("My", "CA", "Root", "AuthRoot")
# The certificates a generated My can hold: 'leaf', 'renewed', 'reissued', 'expiring' and 'expired' share
# issuer and subject (duplicates of each other), 'rebranded' has another subject. 'renewed' is intended.
COPIES = ("renewed", "leaf", "reissued", "expiring", "expired", "rebranded")
SERVICES = st.lists(st.sampled_from(["IIS", "SMTP"]), unique=True, max_size=2)


@dataclass(frozen=True)
class DrawnHost:
    present: tuple[str, ...]
    keyless: frozenset[str]
    services: dict[str, list[str]]
    iis: str | None
    internal: str | None
    connectors: str | None  # the copy whose <I>..<S>.. every connector and the hybrid configuration name
    missing_intermediate: bool


@st.composite
def drawn_hosts(draw: st.DrawFn) -> DrawnHost:
    present = tuple(draw(st.lists(st.sampled_from(COPIES), unique=True, min_size=1, max_size=4)))
    return DrawnHost(
        present=present,
        keyless=frozenset(draw(st.sets(st.sampled_from(present)))),
        services={label: draw(SERVICES) for label in present},
        iis=draw(st.sampled_from([*present, None])),
        internal=draw(st.sampled_from([*present, None])),
        connectors=draw(st.sampled_from([*present, None])),
        missing_intermediate=draw(st.booleans()),
    )


@pytest.fixture(scope="module")
def property_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CaseLab, Path]]:
    lab = start_case_lab(tmp_path_factory.mktemp("property-lab") / "lab", HOSTS_PER_EXAMPLE)
    yield lab, tmp_path_factory.mktemp("property-runs")
    lab.lab.stop()


def _customise(case_lab: CaseLab, drawn: dict[str, DrawnHost]) -> Any:
    pki = case_lab.pki

    def edit(spec: HostSpec, case: Case) -> None:
        host = drawn[case.label]
        spec.my = {t: c for t, c in spec.my.items() if t == spec.self_signed.thumbprint}  # keep the server's own
        for label in host.present:
            issued = getattr(pki, label)
            keyless = label in host.keyless
            spec.put(
                MyCert(
                    issued.without_key() if keyless else issued,
                    has_key=not keyless,
                    services=[] if keyless else host.services[label],
                    friendly_name=label,
                )
            )
        spec.iis_thumbprint = getattr(pki, host.iis).thumbprint if host.iis else ""
        if host.missing_intermediate:
            spec.ca = [pki.issuing_ca]

    return edit


def _point_connectors(case_lab: CaseLab, name: str, host: DrawnHost) -> None:
    state = HostState(case_lab.host_dir(name))
    if host.internal is not None:
        internal = getattr(case_lab.pki, host.internal).thumbprint
        state.write_transport({**state.transport(), "internal_transport_certificate_thumbprint": internal})
    if host.connectors is None:
        return
    named = tls_certificate_name(getattr(case_lab.pki, host.connectors).cert)
    state.write_org("send_connectors.json", [{**c, "tls_certificate_name": named} for c in state.send_connectors()])
    state.write_org(
        "receive_connectors.json", [{**c, "tls_certificate_name": named} for c in state.receive_connectors()]
    )
    hybrid = state.hybrid()
    if hybrid is not None:
        state.write_org("hybrid.json", {**hybrid, "tls_certificate_name": named})


def _all_stores(host_dir: Path) -> dict[tuple[str, str], tuple[bytes, bytes | None]]:
    return {(store, t): v for store in STORES for t, v in store_contents(host_dir, store).items()}


def _refs(seen: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(d["kind"], d["ref"], str(d.get("thumbprint"))) for d in seen["dangling"]}


def _applies(observations: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The observer's log split into one list per apply (each starts with its step 0)."""
    applies: list[list[dict[str, Any]]] = []
    for seen in observations:
        if seen["step"] == 0 or not applies:
            applies.append([])
        applies[-1].append(seen)
    return applies


_RUNS = itertools.count()


@given(batch=st.lists(drawn_hosts(), min_size=HOSTS_PER_EXAMPLE, max_size=HOSTS_PER_EXAMPLE))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_servers_through_the_real_module(property_lab: tuple[CaseLab, Path], batch: list[DrawnHost]) -> None:
    case_lab, runs = property_lab
    work = runs / f"example-{next(_RUNS)}"
    drawn = {f"generated {i}": host for i, host in enumerate(batch)}
    inventory = work / "hosts.yml"
    hosts = case_lab.write_cases(
        [Case("healthy", label=label) for label in drawn], inventory, customise=_customise(case_lab, drawn)
    )
    for name, case in hosts.items():
        _point_connectors(case_lab, name, drawn[case.label])
    before = {name: _all_stores(case_lab.host_dir(name)) for name in hosts}
    intended = case_lab.pki.renewed.thumbprint

    run = run_playbook(compliance_play(work / "backups"), inventory, work / "apply")

    assert "Traceback" not in run.output
    statuses, results = run.statuses(COMPLIANCE_TASK), run.results(COMPLIANCE_TASK)
    compliant = []
    for name, case in hosts.items():
        host, result = drawn[case.label], results[name]
        if statuses[name] != "ok":
            assert name in str(result.get("msg")), (host, result.get("msg"))
        elif result.get("compliant"):
            compliant.append(name)
        for apply in _applies(read_observations(case_lab.host_dir(name))):
            start = _refs(apply[0])
            for seen in apply[1:]:
                assert _refs(seen) <= start, (host, seen["action"], _refs(seen) - start)
        now = _all_stores(case_lab.host_dir(name))
        if ("My", intended) in before[name]:
            assert ("My", intended) in now, (host, "the intended certificate was removed")
        for key in set(before[name]) & set(now):
            assert now[key][0] == before[name][key][0], (host, key, "certificate bytes changed")
        for store, thumb in set(before[name]) - set(now):
            assert store == "My", (host, store, thumb, "only My is ever cleaned")
            assert list((case_lab.host_dir(name) / "filesystem").rglob(f"{thumb}.*")), (host, thumb, "no backup")

    if compliant:
        check = run_playbook(
            compliance_play(work / "backups"), inventory, work / "check", check=True, limit=",".join(compliant)
        )
        assert "Traceback" not in check.output
        for name in compliant:
            result = check.results(COMPLIANCE_TASK)[name]
            assert result.get("plan") == [] and result.get("compliant"), (drawn[hosts[name].label], result)
            assert not result.get("changed"), drawn[hosts[name].label]
