"""Exchange's OAuth certificate: a binding only Get-AuthConfig shows, never removed as a duplicate.

Exchange signs server-to-server tokens with the certificate AuthConfig names as current; a renewal
(Set-AuthConfig -NewCertificateThumbprint, or CSS-Exchange's MonitorExchangeAuthCertificate.ps1) stages
the next one beside it, self-signed with the same subject, so the two are a duplicate group in My.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from tests.support.pki import Issued, TestPki, key_for, make_certificate
from tests.unit.scenario_helpers import actions, bound_to, by_code, run, want

AUTH_SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Microsoft Exchange Server Auth Certificate")])


def _auth(pki: TestPki, label: str, age_days: int, subject: x509.Name = AUTH_SUBJECT) -> Issued:
    """A self-signed OAuth (or federation) certificate as Exchange makes one: no server-auth EKU, a fixed subject."""
    return make_certificate(
        subject,
        key_for(label),
        not_before=pki.now - dt.timedelta(days=age_days),
        not_after=pki.now + dt.timedelta(days=1800 - age_days),
        server_auth=False,
    )


@pytest.fixture(scope="module")
def rotation(pki: TestPki) -> tuple[Issued, Issued]:
    return _auth(pki, "oauth current", 1000), _auth(pki, "oauth next", 10)


def _host(pki: TestPki, current: Issued, staged: Issued, **auth: object) -> Snapshot:
    return bound_to(pki, pki.leaf, my=(pki.leaf, current, staged), **auth)


@pytest.mark.parametrize("roles", [("current", "next"), ("previous", "current")])
def test_a_staged_or_previous_oauth_certificate_is_never_removed_as_a_duplicate(pki, rotation, roles) -> None:
    older, newer = rotation
    host = _host(pki, older, newer, auth_config={roles[0]: older.thumbprint, roles[1]: newer.thumbprint})
    analysis = run(pki, host, want(pki.leaf))
    assert ("remove", older.thumbprint) not in actions(analysis) and ("remove", newer.thumbprint) not in actions(
        analysis
    )
    assert by_code(analysis, "duplicate_certificate") == []  # a renewal in progress is not drift


def test_a_stray_copy_beside_the_oauth_certificate_is_reported_and_the_oauth_one_kept(pki, rotation) -> None:
    older, newer = rotation
    analysis = run(pki, _host(pki, older, newer, auth_config={"current": newer.thumbprint}), want(pki.leaf))
    assert ("remove", older.thumbprint) in actions(analysis)
    assert ("remove", newer.thumbprint) not in actions(analysis)
    [duplicate] = by_code(analysis, "duplicate_certificate")
    assert duplicate.evidence["keep"] == newer.thumbprint


def test_without_the_oauth_certificate_named_a_duplicate_of_it_is_removed(pki, rotation) -> None:
    """Guards the test above: the same host with AuthConfig naming neither copy loses one of them."""
    older, newer = rotation
    analysis = run(pki, _host(pki, older, newer), want(pki.leaf))
    assert ("remove", older.thumbprint) in actions(analysis)


def test_an_unreadable_authconfig_keeps_self_signed_duplicates_only(pki, rotation) -> None:
    older, newer = rotation
    unread = _host(pki, older, newer, auth_config=None)
    analysis = run(pki, unread, want(pki.leaf))
    assert not [a for a in actions(analysis) if a[0] == "remove"]
    [duplicate] = by_code(analysis, "duplicate_certificate")
    assert any(
        "could not be read with this account" in r for rs in duplicate.evidence["kept_bound"].values() for r in rs
    )
    # A CA-issued duplicate is not Exchange's OAuth certificate: it still goes.
    both = bound_to(pki, pki.renewed, my=(pki.leaf, pki.renewed), auth_config=None)
    assert ("remove", pki.leaf.thumbprint) in actions(run(pki, both, want(pki.renewed)))


def test_edge_transport_has_no_authconfig_to_wait_for(pki, rotation) -> None:
    older, newer = rotation
    host = _host(pki, older, newer, auth_config=None)
    edge = dataclasses.replace(host, exchange=dataclasses.replace(host.exchange, role="Edge"))
    assert ("remove", older.thumbprint) in actions(run(pki, edge, want(pki.leaf)))


def test_the_oauth_certificates_survive_a_saved_read(pki, rotation) -> None:
    older, newer = rotation
    host = _host(pki, older, newer, auth_config={"current": older.thumbprint.lower(), "next": newer.thumbprint})
    again = Snapshot.from_read_result(host.to_read_result())
    assert again.exchange.auth_certificates == (("current", older.thumbprint), ("next", newer.thumbprint))
    assert again.exchange.auth_roles_of(newer.thumbprint) == ("next",)


FEDERATION_SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Federation")])


def test_a_federation_trust_certificate_being_renewed_is_kept_like_the_oauth_one(pki) -> None:
    older = _auth(pki, "federation current", 700, FEDERATION_SUBJECT)
    newer = _auth(pki, "federation next", 3, FEDERATION_SUBJECT)
    trust = {"current": older.thumbprint, "next": newer.thumbprint, "previous": None}
    named = bound_to(pki, pki.leaf, my=(pki.leaf, older, newer), federation_trusts=[trust])
    analysis = run(pki, named, want(pki.leaf))
    assert not [a for a in actions(analysis) if a[0] == "remove"]
    assert by_code(analysis, "duplicate_certificate") == []
    unread = run(pki, bound_to(pki, pki.leaf, my=(pki.leaf, older, newer), federation_trusts=None), want(pki.leaf))
    assert not [a for a in actions(unread) if a[0] == "remove"]
    [duplicate] = by_code(unread, "duplicate_certificate")
    reasons = [r for rs in duplicate.evidence["kept_bound"].values() for r in rs]
    assert any(r.startswith("Get-FederationTrust could not be read") for r in reasons), reasons
    # Guards both: the same copies in a read that names neither are a duplicate, and one goes.
    unnamed = run(pki, bound_to(pki, pki.leaf, my=(pki.leaf, older, newer)), want(pki.leaf))
    assert ("remove", older.thumbprint) in actions(unnamed)
