"""The plan is refused when its end state breaks a binding that works now.

The planner proves each removal safe against what names a certificate (connectors by
TlsCertificateName, IIS bindings, services, the internal transport certificate); a
connector without TlsCertificateName is bound by Exchange's selection by FQDN, which
that proof does not see. The end-state guard simulates the whole plan and refuses it
when a connector, binding or service would be left with nothing it has now.
"""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from tests.support.snapshots import iis_binding, receive_connector, send_connector, tls_name
from tests.unit.scenario_helpers import RECEIVE, SEND, actions, by_code, run, snap, want

LEGACY = "Legacy relay"


def _legacy_relay_host(pki):
    """The renewed certificate is bound everywhere; an undeclared receive connector without TlsCertificateName
    selects by its FQDN legacy.contoso.com, which only the certificate the task retires covers."""
    new = tls_name(pki.renewed)
    return snap(
        pki,
        my=(pki.renewed, pki.weak),
        services={pki.renewed.thumbprint: ["IIS", "SMTP"], pki.weak.thumbprint: ["SMTP"]},
        internal_transport=pki.renewed.thumbprint,
        send_connectors=[send_connector(SEND, new)],
        receive_connectors=[
            receive_connector(RECEIVE, new),
            receive_connector(LEGACY, None, fqdn=f"legacy.{pki.domain}"),
        ],
        hybrid=new,
        iis_bindings=[iis_binding(pki.renewed.thumbprint)],
    )


def test_a_retirement_that_leaves_a_connector_without_a_certificate_is_refused(pki):
    host = _legacy_relay_host(pki)
    desired = want(pki.renewed, retire=(pki.weak.thumbprint,))
    assert not by_code(run(pki, host, want(pki.renewed)), "connector_certificate_not_found")
    analysis = run(pki, host, desired)
    assert analysis.plan == [], actions(analysis)
    assert not analysis.compliant
    [refused] = by_code(analysis, "plan_breaks_binding")
    assert refused in analysis.blockers
    assert refused.severity == "error"
    assert f"receive connector EX01\\{LEGACY}" in refused.message
    assert pki.weak.thumbprint in refused.message
    assert refused.evidence["end_state_code"] == "connector_certificate_not_found"
    assert refused.evidence["loses"] == [pki.weak.thumbprint]
    # What the refused plan would have done: the server is then left exactly as the guard predicts.
    assert "connector_certificate_not_found" not in run(pki, host, None).codes()


def test_the_same_retirement_is_planned_once_the_connector_names_another_certificate(pki):
    covered = snap(
        pki,
        my=(pki.renewed, pki.weak),
        services={pki.renewed.thumbprint: ["IIS", "SMTP"], pki.weak.thumbprint: ["SMTP"]},
        internal_transport=pki.renewed.thumbprint,
        send_connectors=[send_connector(SEND, tls_name(pki.renewed))],
        receive_connectors=[
            receive_connector(RECEIVE, tls_name(pki.renewed)),
            receive_connector(LEGACY, tls_name(pki.renewed), fqdn=f"legacy.{pki.domain}"),
        ],
        hybrid=tls_name(pki.renewed),
        iis_bindings=[iis_binding(pki.renewed.thumbprint)],
    )
    analysis = run(pki, covered, want(pki.renewed, retire=(pki.weak.thumbprint,)))
    assert ("remove", pki.weak.thumbprint) in actions(analysis)
    assert not by_code(analysis, "plan_breaks_binding")
    after = apply_plan(covered, analysis.plan)
    assert "connector_certificate_not_found" not in run(pki, after, None).codes()


def test_a_binding_that_names_nothing_now_does_not_block_the_plan(pki):
    """The guard refuses only what the plan would break: a connector already naming nothing is not new."""
    host = snap(
        pki,
        my=(pki.renewed,),
        services={pki.renewed.thumbprint: ["IIS", "SMTP"]},
        internal_transport=pki.renewed.thumbprint,
        send_connectors=[send_connector(SEND, tls_name(pki.renewed)), send_connector("Old", tls_name(pki.rebranded))],
        receive_connectors=[receive_connector(RECEIVE, tls_name(pki.rebranded))],
        hybrid=tls_name(pki.renewed),
        iis_bindings=[iis_binding(pki.renewed.thumbprint)],
    )
    analysis = run(pki, host, want(pki.renewed))
    assert ("set_connector", f"EX01\\{RECEIVE}") in actions(analysis)
    assert not by_code(analysis, "plan_breaks_binding")
    assert by_code(analysis, "connector_certificate_not_found")
