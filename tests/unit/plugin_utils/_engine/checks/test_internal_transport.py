"""The internal transport certificate moves with ``enable_services SMTP`` even when SMTP is already enabled.

``Enable-ExchangeCertificate -Services SMTP -Force`` is the only primitive that re-takes
``InternalTransportCertificateThumbprint``. The engine asks for it explicitly (the step's
``replace_internal_transport``) when the current one is a duplicate being removed or is gone; the agent then
passes ``-Force`` and the lab (tests/lab/steps.py) moves it. Without that flag neither does.
"""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from tests.unit.scenario_helpers import actions, bound_to, by_code, run, want


def test_smtp_is_re_enabled_to_take_the_internal_transport_from_a_duplicate(pki):
    host = bound_to(pki, pki.renewed, my=(pki.leaf, pki.renewed), internal_transport=pki.leaf.thumbprint)
    assert "SMTP" in host.exchange.services_of(pki.renewed.thumbprint)
    analysis = run(pki, host, want(pki.renewed))
    assert actions(analysis) == [
        ("enable_services", pki.renewed.thumbprint),
        ("backup", pki.leaf.thumbprint),
        ("remove", pki.leaf.thumbprint),
    ]
    enable = analysis.plan[0]
    assert enable.params["services"] == ["SMTP"]
    assert enable.reason == "make it the internal transport certificate"
    assert enable.params["replace_internal_transport"] is True
    [internal] = by_code(analysis, "internal_transport_certificate")
    assert internal.evidence["state"] == "duplicate" and internal.fix == "enable_services"
    after = apply_plan(host, analysis.plan)
    assert after.exchange.internal_transport_thumbprint == pki.renewed.thumbprint
    assert after.find(pki.leaf.thumbprint) is None
    again = run(pki, after, want(pki.renewed))
    assert again.compliant and again.plan == []


def test_report_only_still_moves_the_internal_transport_but_removes_nothing(pki):
    host = bound_to(pki, pki.renewed, my=(pki.leaf, pki.renewed), internal_transport=pki.leaf.thumbprint)
    analysis = run(pki, host, want(pki.renewed, duplicates="report"))
    assert [a for a, _unused in actions(analysis)] == ["enable_services"]
