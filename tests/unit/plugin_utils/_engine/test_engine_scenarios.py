"""The field failures, rebuilt from a fresh PKI: findings asserted by code AND evidence."""

from __future__ import annotations

import json

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import parse_certificate
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from tests.support.snapshots import iis_binding, receive_connector, send_connector, tls_name
from tests.unit.scenario_helpers import RECEIVE, SEND, actions, bound_to, by_code, run, snap, want, with_pfx


def test_compliant_host_has_no_findings_and_an_empty_plan(pki):
    analysis = run(pki, bound_to(pki, pki.renewed), want(pki.renewed))
    assert analysis.compliant, analysis.codes()
    assert analysis.findings == [] and analysis.plan == [] and analysis.blockers == []


def test_duplicate_without_key_is_found_store_wide_and_the_keyed_copy_kept(pki):
    host = bound_to(pki, pki.renewed, my=(pki.leaf.without_key(), pki.renewed))
    analysis = run(pki, host, None)
    [dup] = by_code(analysis, "duplicate_certificate")
    assert {c["thumbprint"] for c in dup.evidence["copies"]} == {pki.leaf.thumbprint, pki.renewed.thumbprint}
    assert dup.evidence["keep"] == pki.renewed.thumbprint
    assert "private key" in dup.evidence["keep_reason"]
    ambiguous = by_code(analysis, "connector_ambiguous")
    assert {f.evidence["identity"] for f in ambiguous} == {SEND, f"EX01\\{RECEIVE}", "HybridConfiguration"}
    assert {c["thumbprint"] for c in ambiguous[0].evidence["could_present"]} == {
        pki.leaf.thumbprint,
        pki.renewed.thumbprint,
    }
    [nokey] = by_code(analysis, "no_private_key")
    assert nokey.evidence["thumbprint"] == pki.leaf.thumbprint
    assert "NoCredentials" in nokey.message
    assert analysis.plan == []  # no desired state: report only


def test_duplicate_without_key_is_backed_up_then_removed(pki):
    host = bound_to(pki, pki.renewed, my=(pki.leaf.without_key(), pki.renewed))
    analysis = run(pki, host, want(pki.renewed))
    assert actions(analysis) == [("backup", pki.leaf.thumbprint), ("remove", pki.leaf.thumbprint)]
    backup = analysis.plan[0]
    assert backup.params["store"] == "My" and backup.params["directory"].endswith("backup")
    [dup] = by_code(analysis, "duplicate_certificate")
    assert dup.fix == "remove" and dup.evidence["remove"] == [pki.leaf.thumbprint]
    after = run(pki, apply_plan(host, analysis.plan), want(pki.renewed))
    assert after.compliant and after.plan == []


def test_duplicates_report_plans_no_removal(pki):
    host = bound_to(pki, pki.renewed, my=(pki.leaf.without_key(), pki.renewed))
    analysis = run(pki, host, want(pki.renewed, duplicates="report"))
    assert analysis.plan == []
    assert by_code(analysis, "duplicate_certificate")[0].fix is None


def test_duplicate_revoked_copy_bound_by_services_is_repointed_then_removed(pki):
    host = bound_to(
        pki,
        pki.leaf,
        my=(pki.leaf, pki.renewed),
        status={pki.leaf.thumbprint: "Revoked"},
        services={pki.leaf.thumbprint: ["IIS", "SMTP"]},
    )
    analysis = run(pki, host, want(pki.renewed))
    [revoked] = by_code(analysis, "revoked")
    assert revoked.evidence["thumbprint"] == pki.leaf.thumbprint and revoked.fix == "remove"
    [internal] = by_code(analysis, "internal_transport_certificate")
    assert internal.evidence == {"host": "EX01", "thumbprint": pki.leaf.thumbprint, "state": "duplicate"}
    assert internal.fix == "enable_services"
    assert actions(analysis) == [
        ("enable_services", pki.renewed.thumbprint),
        ("set_iis_binding", pki.renewed.thumbprint),
        ("backup", pki.leaf.thumbprint),
        ("remove", pki.leaf.thumbprint),
    ]
    assert analysis.plan[0].params["services"] == ["IIS", "SMTP"]
    after = run(pki, apply_plan(host, analysis.plan), want(pki.renewed))
    assert after.compliant, after.codes()


def test_missing_intermediate_names_the_issuer_and_its_key_id(pki):
    host = bound_to(pki, pki.renewed, ca=(pki.policy_ca,))
    analysis = run(pki, host, want(pki.renewed))
    [gap] = by_code(analysis, "incomplete_chain")
    missing = gap.evidence["missing_issuer"]
    assert missing["issuer"] == "CN=Certwarden TLS Issuing CA 1, O=Certwarden Trust, S=Washington, C=US"
    assert missing["authority_key_id"] == parse_certificate(pki.issuing_ca.der).ski
    assert "UntrustedRoot" in gap.message
    assert analysis.blockers == [gap] and analysis.plan == []


def test_missing_intermediate_is_installed_from_the_bundle(pki):
    host = bound_to(pki, pki.renewed, ca=(pki.policy_ca,))
    desired = want(pki.renewed, chain=(parse_certificate(pki.issuing_ca.der), parse_certificate(pki.policy_ca.der)))
    analysis = run(pki, host, desired)
    [gap] = by_code(analysis, "incomplete_chain")
    assert gap.fix == "install_intermediate" and not analysis.blockers
    assert actions(analysis) == [("install_intermediate", pki.issuing_ca.thumbprint)]
    assert run(pki, apply_plan(host, analysis.plan), desired).compliant


def test_cross_signed_intermediate_missing(pki):
    host = bound_to(pki, pki.renewed, root=(pki.legacy_root,))
    analysis = run(pki, host, want(pki.renewed))
    [gap] = by_code(analysis, "incomplete_chain")
    assert gap.evidence["missing_issuer"]["issuer"] == "CN=Certwarden Test Root CA, O=Certwarden Trust, C=US"
    assert gap.evidence["missing_issuer"]["authority_key_id"] == parse_certificate(pki.root.der).ski
    desired = want(pki.renewed, chain=(parse_certificate(pki.cross_root.der),))
    fixed = run(pki, host, desired)
    assert actions(fixed) == [("install_intermediate", pki.cross_root.thumbprint)]
    assert run(pki, apply_plan(host, fixed.plan), desired).compliant


def test_bundle_from_another_ca_is_a_blocker_even_when_the_host_chain_is_complete(pki):
    """The wrong file given as option chain is a user error, not something to ignore."""
    host = bound_to(pki, pki.renewed)
    desired = want(
        pki.renewed, chain=(parse_certificate(pki.issuing_ca.der), parse_certificate(pki.enterprise_issuing.der))
    )
    analysis = run(pki, host, desired)
    [bad] = by_code(analysis, "bundle_does_not_chain")
    assert bad.evidence["stray"] == [pki.enterprise_issuing.thumbprint]
    assert bad in analysis.blockers and analysis.plan == []
    # The right bundle (cross-signed links count: they share the subject) is fine.
    right = want(pki.renewed, chain=tuple(parse_certificate(c.der) for c in (pki.issuing_ca, pki.policy_ca, pki.root)))
    assert not by_code(run(pki, host, right), "bundle_does_not_chain")


def test_bundle_that_does_not_chain_is_a_blocker(pki):
    host = bound_to(pki, pki.renewed, ca=(pki.policy_ca,))
    desired = want(pki.renewed, chain=(parse_certificate(pki.enterprise_issuing.der),))
    analysis = run(pki, host, desired)
    [bad] = by_code(analysis, "bundle_does_not_chain")
    assert bad in analysis.blockers and analysis.plan == []
    assert bad.evidence["chain"]["missing_issuer"]["issuer"].startswith("CN=Certwarden TLS Issuing CA 1")


def test_untrusted_root_installed_only_with_install_root(pki):
    host = bound_to(pki, pki.renewed, root=(pki.legacy_root,), ca=(*pki.chain, pki.root))
    analysis = run(pki, host, want(pki.renewed))
    [untrusted] = by_code(analysis, "untrusted_root")
    assert untrusted.evidence["root"]["thumbprint"] == pki.root.thumbprint
    desired = want(pki.renewed, chain=(parse_certificate(pki.root.der),), install_root=True)
    fixed = run(pki, host, desired)
    assert actions(fixed) == [("install_root", pki.root.thumbprint)]


def test_enterprise_leaf_without_aki_is_accepted_with_a_warning(pki):
    host = bound_to(pki, pki.enterprise_leaf, ca=(pki.enterprise_issuing,), root=(pki.enterprise_root,))
    analysis = run(pki, host, want(pki.enterprise_leaf))
    assert analysis.compliant, analysis.codes()
    [warning] = by_code(analysis, "missing_authority_key_identifier")
    assert warning.severity == "warning" and warning.evidence["chain"]["status"] == "valid"


def test_service_not_enabled(pki):
    host = bound_to(pki, pki.renewed, services={pki.renewed.thumbprint: ["IIS"]})
    analysis = run(pki, host, want(pki.renewed))
    [finding] = by_code(analysis, "service_not_enabled")
    assert finding.evidence["missing_services"] == ["SMTP"] and "UnknownCredentials" in finding.message
    assert actions(analysis) == [("enable_services", pki.renewed.thumbprint)]
    assert analysis.plan[0].params["services"] == ["SMTP"]


def test_stale_connectors_and_hybrid_after_subject_change(pki):
    host = bound_to(pki, pki.leaf, my=(pki.leaf, pki.rebranded), services={pki.leaf.thumbprint: ["IIS", "SMTP"]})
    analysis = run(pki, host, want(pki.rebranded))
    mismatched = {f.evidence["identity"] for f in by_code(analysis, "connector_mismatch")}
    assert mismatched == {SEND, f"EX01\\{RECEIVE}"}
    [hybrid] = by_code(analysis, "hybrid_mismatch")
    assert hybrid.evidence["tls_certificate_name"] == tls_name(pki.leaf)
    assert hybrid.evidence["intended_tls_certificate_name"] == tls_name(pki.rebranded)
    assert [a for a, _unused in actions(analysis)] == [
        "enable_services",
        "set_connector",
        "set_connector",
        "set_hybrid",
        "set_iis_binding",
    ]
    after = run(pki, apply_plan(host, analysis.plan), want(pki.rebranded))
    assert after.compliant, after.codes()
    assert apply_plan(host, analysis.plan).find(pki.leaf.thumbprint) is not None  # never removed: not a duplicate


def test_expiring_with_new_staged(pki):
    host = bound_to(pki, pki.expiring, my=(pki.expiring, pki.renewed))
    analysis = run(pki, host, None)
    [soon] = by_code(analysis, "expiring_soon")
    assert soon.evidence["thumbprint"] == pki.expiring.thumbprint
    assert soon.evidence["replacement_staged"] == [pki.renewed.thumbprint]
    desired = want(pki.renewed)
    fixed = run(pki, host, desired)
    assert actions(fixed) == [
        ("enable_services", pki.renewed.thumbprint),
        ("set_iis_binding", pki.renewed.thumbprint),
        ("backup", pki.expiring.thumbprint),
        ("remove", pki.expiring.thumbprint),
    ]
    assert run(pki, apply_plan(host, fixed.plan), desired).compliant


def test_missing_intended_without_pfx_blocks(pki):
    analysis = run(pki, bound_to(pki, pki.leaf), want(pki.renewed))
    [missing] = by_code(analysis, "missing_intended_certificate")
    assert missing in analysis.blockers and missing.evidence["thumbprint"] == pki.renewed.thumbprint
    assert analysis.plan == []


def test_missing_intended_with_pfx_imports_first(pki):
    host = bound_to(pki, pki.leaf)
    desired = with_pfx(pki.renewed)
    analysis = run(pki, host, desired)
    assert by_code(analysis, "missing_intended_certificate")[0].fix == "import_pfx"
    assert [a for a, _unused in actions(analysis)][:2] == ["import_pfx", "enable_services"]
    shown = json.dumps(analysis.to_dict())
    assert "s3cret-pfx" not in shown and desired.pfx_b64[:40] not in shown
    request = analysis.plan[0].to_request()
    assert request["password"] == "s3cret-pfx" and request["pfx_b64"] == desired.pfx_b64
    after = run(pki, apply_plan(host, analysis.plan), desired)
    assert after.compliant, after.codes()


def test_intended_without_private_key_blocks(pki):
    analysis = run(pki, bound_to(pki, pki.renewed.without_key()), want(pki.renewed))
    [nokey] = by_code(analysis, "no_private_key")
    assert nokey in analysis.blockers and nokey.evidence["thumbprint"] == pki.renewed.thumbprint


def test_expired_intended_blocks_and_expired_bound_is_reported(pki):
    analysis = run(pki, bound_to(pki, pki.expired), want(pki.expired))
    [expired] = by_code(analysis, "expired")
    assert expired in analysis.blockers and "450 4.7.320" in expired.message
    store_wide = run(pki, bound_to(pki, pki.expired), None)
    assert by_code(store_wide, "expired")[0].evidence["in_use"]


def test_not_yet_valid(pki):
    import datetime as dt

    from tests.support.pki import key_for

    future = pki.issue(
        pki.leaf_subject,
        "future",
        not_before=pki.now + dt.timedelta(days=3),
        not_after=pki.now + dt.timedelta(days=400),
    )
    del key_for
    analysis = run(pki, bound_to(pki, future), want(future))
    assert by_code(analysis, "not_yet_valid")[0].evidence["thumbprint"] == future.thumbprint


def test_connector_not_found_and_missing_iis_and_hybrid_block(pki):
    host = snap(pki, my=(pki.renewed,), services={pki.renewed.thumbprint: ["SMTP", "IIS"]})
    analysis = run(pki, host, want(pki.renewed))
    assert {f.evidence.get("identity") for f in by_code(analysis, "connector_not_found")} == {SEND, RECEIVE}
    assert by_code(analysis, "hybrid_not_found") and by_code(analysis, "iis_binding_not_found")
    assert analysis.plan == [] and len(analysis.blockers) == 4


def test_connector_naming_no_certificate(pki):
    host = bound_to(pki, pki.renewed)
    host_dict = host.to_read_result()
    host_dict["exchange"]["send_connectors"][0]["tls_certificate_name"] = tls_name(pki.rebranded)
    from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot

    analysis = run(pki, Snapshot.from_read_result(host_dict), want(pki.renewed))
    [gone] = by_code(analysis, "connector_certificate_not_found")
    assert gone.evidence["identity"] == SEND and gone.fix == "set_connector" and "454 4.7.5" in gone.message


def test_iis_binding_mismatch(pki):
    host = bound_to(pki, pki.renewed, my=(pki.renewed, pki.self_signed))
    d = host.to_read_result()
    d["iis_bindings"] = [iis_binding(pki.self_signed.thumbprint)]
    from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot

    analysis = run(pki, Snapshot.from_read_result(d), want(pki.renewed))
    [mismatch] = by_code(analysis, "iis_binding_mismatch")
    assert mismatch.evidence["thumbprint"] == pki.self_signed.thumbprint
    assert actions(analysis) == [("set_iis_binding", pki.renewed.thumbprint)]


def test_name_not_covered(pki):
    analysis = run(pki, bound_to(pki, pki.renewed), want(pki.renewed, server_fqdn_names=("owa.fabrikam.com",)))
    [finding] = by_code(analysis, "name_not_covered")
    assert finding.evidence["names_not_covered"] == ["owa.fabrikam.com"]


def test_weak_key_and_signature(pki):
    host = bound_to(pki, pki.weak)
    analysis = run(pki, host, want(pki.weak, server_fqdn_names=()))
    assert by_code(analysis, "weak_key")[0].evidence["key_size"] == 1024
    assert by_code(analysis, "weak_signature")[0].evidence["signature_hash"] == "sha1"


def test_wrong_certificate_presented_when_a_newer_copy_shadows_the_intended(pki):
    # The intended is the older copy; Exchange picks the newest NotBefore.
    host = bound_to(pki, pki.leaf, my=(pki.leaf, pki.renewed))
    analysis = run(pki, host, want(pki.leaf, duplicates="report"))
    wrong = by_code(analysis, "wrong_certificate_presented")
    assert {f.evidence["identity"] for f in wrong} == {SEND, f"EX01\\{RECEIVE}", "HybridConfiguration"}
    assert wrong[0].evidence["inbound_choice"] == pki.renewed.thumbprint


def test_internal_transport_certificate_missing(pki):
    host = bound_to(pki, pki.renewed, internal_transport=pki.leaf.thumbprint)
    analysis = run(pki, host, want(pki.renewed))
    [internal] = by_code(analysis, "internal_transport_certificate")
    assert internal.evidence["state"] == "missing" and internal.fix == "enable_services"
    assert analysis.plan[0].params["services"] == ["SMTP"]


def test_store_wide_service_not_enabled_for_the_presented_certificate(pki):
    host = bound_to(pki, pki.renewed, services={})
    analysis = run(pki, host, None)
    presented = by_code(analysis, "service_not_enabled")
    assert {f.evidence["identity"] for f in presented} == {SEND, f"EX01\\{RECEIVE}"}


def test_receive_connector_reference_by_identity(pki):
    host = bound_to(pki, pki.leaf, my=(pki.leaf, pki.rebranded))
    analysis = run(pki, host, want(pki.rebranded, receive_connectors=(f"ex01\\{RECEIVE.lower()}",)))
    assert f"EX01\\{RECEIVE}" in {f.evidence["identity"] for f in by_code(analysis, "connector_mismatch")}


def test_plan_is_deterministic(pki):
    host = bound_to(pki, pki.expiring, my=(pki.expiring, pki.leaf.without_key(), pki.renewed))
    first = run(pki, host, want(pki.renewed))
    second = run(pki, host, want(pki.renewed))
    assert [s.to_request() for s in first.plan] == [s.to_request() for s in second.plan]
    assert [f.to_dict() for f in first.findings] == [f.to_dict() for f in second.findings]
    removed = [s.params["thumbprint"] for s in first.plan if s.action == "remove"]
    assert removed == sorted([pki.expiring.thumbprint, pki.leaf.thumbprint])


def test_unrelated_connectors_keep_working(pki):
    host = snap(
        pki,
        my=(pki.renewed,),
        services={pki.renewed.thumbprint: ["SMTP"]},
        send_connectors=[send_connector("Internet", None)],
        receive_connectors=[receive_connector("Client Frontend EX01", None)],
    )
    analysis = run(pki, host, None)
    assert analysis.compliant, analysis.codes()
