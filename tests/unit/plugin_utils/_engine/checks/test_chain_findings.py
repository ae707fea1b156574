"""expired_intermediate and chain_invalid, each rebuilt from real certificates and judged by code and evidence."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.chains import ChainVerifier
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import parse_certificate
from tests.support.pki import Issued, TestPki, key_for, make_certificate, name
from tests.unit.scenario_helpers import bound_to, by_code, run, want

DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def lapsed_ca(pki: TestPki) -> Issued:
    """An issuing CA under the test root whose certificate expired ten days ago."""
    return make_certificate(
        name("Certwarden Lapsed Issuing CA", org="Certwarden Trust"),
        key_for("lapsed-ca"),
        pki.root,
        not_before=pki.now - 700 * DAY,
        not_after=pki.now - 10 * DAY,
        ca=True,
        path_length=0,
    )


@pytest.fixture(scope="module")
def lapsed_leaf(pki: TestPki, lapsed_ca: Issued) -> Issued:
    """A leaf still valid itself, issued by the lapsed CA (the CA was renewed under a new key elsewhere)."""
    return pki.issue(
        pki.leaf_subject, "lapsed-leaf", not_before=pki.now - 100 * DAY, not_after=pki.now + 200 * DAY, issuer=lapsed_ca
    )


@pytest.fixture(scope="module")
def misissued(pki: TestPki) -> Issued:
    """A leaf 'issued' by an end-entity certificate (BasicConstraints CA=false): no path can be valid."""
    return pki.issue(
        pki.leaf_subject, "misissued", not_before=pki.now - 5 * DAY, not_after=pki.now + 300 * DAY, issuer=pki.renewed
    )


def test_expired_intermediate_names_the_expired_certificate(pki, lapsed_ca, lapsed_leaf):
    host = bound_to(pki, lapsed_leaf, ca=(lapsed_ca, *pki.chain))
    analysis = run(pki, host, want(lapsed_leaf))
    [expired] = by_code(analysis, "expired_intermediate")
    chain = expired.evidence["chain"]
    assert chain["status"] == "expired_intermediate"
    assert [c["thumbprint"] for c in chain["expired_intermediates"]] == [lapsed_ca.thumbprint]
    assert [c["thumbprint"] for c in chain["path"]] == [
        lapsed_leaf.thumbprint,
        lapsed_ca.thumbprint,
        pki.root.thumbprint,
    ]
    assert "Certwarden Lapsed Issuing CA" in expired.message and lapsed_ca.thumbprint in expired.message
    # The intended certificate's chain is broken and nothing in the plan can mend it: a blocker, no plan.
    assert expired in analysis.blockers and analysis.plan == []
    assert not by_code(analysis, "incomplete_chain") and not by_code(analysis, "chain_invalid")


def test_expired_intermediate_of_a_bound_copy_is_reported_not_blocking(pki, lapsed_ca, lapsed_leaf):
    # The intended certificate is fine; the copy still bound to IIS chains through the lapsed CA.
    host = bound_to(pki, pki.renewed, my=(pki.renewed, lapsed_leaf), ca=(lapsed_ca, *pki.chain))
    host = host.with_changes(iis_bindings=(replace(host.iis_bindings[0], thumbprint=lapsed_leaf.thumbprint),))
    analysis = run(pki, host, want(pki.renewed, duplicates="report"))
    [expired] = by_code(analysis, "expired_intermediate")
    assert expired.evidence["thumbprint"] == lapsed_leaf.thumbprint
    assert expired not in analysis.blockers


def test_chain_invalid_when_the_issuer_is_not_a_ca(pki, misissued):
    # The "issuer" sits in the CA store, so no issuer is missing: the path exists and is simply invalid.
    host = bound_to(pki, misissued, ca=(pki.renewed, *pki.chain))
    analysis = run(pki, host, want(misissued))
    [invalid] = by_code(analysis, "chain_invalid")
    chain = invalid.evidence["chain"]
    assert chain["status"] == "invalid" and chain["error"]
    assert [c["thumbprint"] for c in chain["path"]][:2] == [misissued.thumbprint, pki.renewed.thumbprint]
    assert chain["path"][-1]["thumbprint"] == pki.root.thumbprint
    assert invalid.message.endswith(chain["error"])
    assert invalid in analysis.blockers and analysis.plan == []
    assert not by_code(analysis, "incomplete_chain") and not by_code(analysis, "expired_intermediate")


def test_verifier_statuses_directly(pki, lapsed_ca, lapsed_leaf, misissued):
    anchors = (parse_certificate(pki.root.der),)
    inter = tuple(parse_certificate(c.der) for c in (lapsed_ca, pki.renewed, *pki.chain))
    verifier = ChainVerifier(inter, anchors, pki.now)
    assert verifier.verify(parse_certificate(pki.leaf.der)).status == "valid"
    assert verifier.verify(parse_certificate(lapsed_leaf.der)).status == "expired_intermediate"
    assert verifier.verify(parse_certificate(misissued.der)).status == "invalid"
    # Without the lapsed CA in any store, the same leaf's issuer is simply missing.
    bare = ChainVerifier(tuple(parse_certificate(c.der) for c in pki.chain), anchors, pki.now)
    result = bare.verify(parse_certificate(lapsed_leaf.der))
    assert result.status == "incomplete" and result.missing is not None
    assert result.missing.dn == "CN=Certwarden Lapsed Issuing CA, O=Certwarden Trust, C=US"
