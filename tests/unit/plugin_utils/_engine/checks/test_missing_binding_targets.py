"""A binding that names a certificate no store holds is a finding, declared in the task or not."""

from __future__ import annotations

from tests.support.snapshots import iis_binding
from tests.unit.scenario_helpers import actions, by_code, run, snap, want

GONE = "AB" * 20


def test_an_undeclared_iis_binding_to_a_missing_certificate_is_reported(pki) -> None:
    host = snap(pki, my=(pki.renewed,), iis_bindings=[iis_binding(GONE, site="Exchange Back End", port=444)])
    for desired in (None, want(pki.renewed, iis_bindings=())):
        [found] = by_code(run(pki, host, desired), "binding_certificate_missing")
        assert found.severity == "error" and found.fix is None
        assert found.evidence["thumbprint"] == GONE and found.evidence["site"] == "Exchange Back End"
        assert "Exchange Back End *:444:" in found.message and "not in LocalMachine\\My" in found.message


def test_a_declared_iis_binding_to_a_missing_certificate_is_repointed(pki) -> None:
    host = snap(
        pki, my=(pki.renewed,), services={pki.renewed.thumbprint: ["IIS", "SMTP"]}, iis_bindings=[iis_binding(GONE)]
    )
    analysis = run(pki, host, want(pki.renewed, send_connectors=(), receive_connectors=(), hybrid_configuration=False))
    [found] = by_code(analysis, "binding_certificate_missing")
    assert found.fix == "set_iis_binding"
    assert ("set_iis_binding", pki.renewed.thumbprint) in actions(analysis)
    assert not analysis.compliant


def test_a_binding_in_a_store_the_agent_does_not_read_is_not_judged(pki) -> None:
    binding = {**iis_binding(GONE), "store": "WebHosting"}
    assert (
        by_code(run(pki, snap(pki, my=(pki.renewed,), iis_bindings=[binding]), None), "binding_certificate_missing")
        == []
    )
