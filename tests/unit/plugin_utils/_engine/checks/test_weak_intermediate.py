"""A SHA-1-signed intermediate in an otherwise complete chain: weak_signature, readable, and the plan goes on."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.chains import readable_error
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import parse_certificate
from tests.support.pki import Issued, TestPki, key_for, make_certificate, name
from tests.unit.scenario_helpers import bound_to, by_code, run, want

DAY = dt.timedelta(days=1)
LIBRARY_DEBUG = ("AlgorithmIdentifier", "PhantomData", "DefinedByMarker", "{")


@pytest.fixture
def sha1_chain(pki: TestPki) -> tuple[Issued, Issued]:
    intermediate = make_certificate(
        name("SHA1 Issuing CA", org="Certwarden Trust"),
        key_for("sha1-intermediate"),
        pki.policy_ca,
        not_before=pki.now - 10 * DAY,
        not_after=pki.now + 1000 * DAY,
        ca=True,
        path_length=0,
        hash_algorithm=hashes.SHA1(),  # noqa: S303 - the weak signature under test
    )
    leaf = pki.issue(
        name("mail.contoso.com"),
        "sha1-chain-leaf",
        not_before=pki.now - DAY,
        not_after=pki.now + 300 * DAY,
        issuer=intermediate,
    )
    return intermediate, leaf


def _no_library_text(analysis) -> None:
    for found in analysis.findings:
        assert not any(marker in found.message for marker in LIBRARY_DEBUG), found.message


def test_a_sha1_intermediate_on_the_host_is_weak_signature_not_a_broken_chain(pki, sha1_chain) -> None:
    intermediate, leaf = sha1_chain
    analysis = run(pki, bound_to(pki, leaf, ca=(intermediate, pki.policy_ca)), want(leaf))
    assert by_code(analysis, "chain_invalid") == [] and analysis.blockers == []
    [weak] = by_code(analysis, "weak_signature")
    assert weak.severity == "warning" and intermediate.thumbprint in weak.message and "SHA1" in weak.message
    _no_library_text(analysis)


def test_a_bundle_with_a_sha1_intermediate_chains_and_the_plan_keeps_its_fixes(pki, sha1_chain) -> None:
    intermediate, leaf = sha1_chain
    bundle = (parse_certificate(intermediate.der), parse_certificate(pki.policy_ca.der))
    analysis = run(pki, bound_to(pki, leaf, ca=(pki.policy_ca,)), want(leaf, chain=bundle))
    assert by_code(analysis, "bundle_does_not_chain") == [] and analysis.blockers == []
    assert [s.action for s in analysis.plan] == ["install_intermediate"]
    assert [f.evidence["weak_link"]["thumbprint"] for f in by_code(analysis, "weak_signature")] == [
        intermediate.thumbprint
    ]
    _no_library_text(analysis)


def test_a_verification_error_loses_the_library_debug_text() -> None:
    raw = (
        "validation failed: candidates exhausted: Forbidden signature algorithm: AlgorithmIdentifier { oid: "
        "DefinedByMarker(PhantomData<asn1::object_identifier::ObjectIdentifier>), params: RsaWithSha1(Some(())) }"
    )
    assert readable_error(raw) == "validation failed: candidates exhausted: Forbidden signature algorithm"
