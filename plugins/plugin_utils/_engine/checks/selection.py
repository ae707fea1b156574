"""Which certificate Exchange presents: its documented selection, predicted.

Inbound STARTTLS (documented): candidates are the certificates in
``LocalMachine\\My`` whose issuer and subject match the connector's
``TlsCertificateName`` (else whose subject or SAN matches the connector FQDN,
else the server FQDN); a candidate needs a private key; newest NotBefore
first; the first valid CA-issued one wins, else the first self-signed one; an
expired winner is still used. Outbound selection is undocumented, so a name
that matches several copies is drift in itself: every copy could be presented.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import (
    name_key,
    parse_tls_certificate_name,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import (
    Snapshot,
    StoredCertificate,
)

BY_TLS_NAME = "tls_certificate_name"
BY_FQDN = "connector_fqdn"
BY_SERVER_FQDN = "server_fqdn"


@dataclass(frozen=True)
class Selection:
    matched_by: str
    target: str  # the TlsCertificateName or FQDN that was matched
    matches: tuple[StoredCertificate, ...]  # every copy that matches, with or without a key
    candidates: tuple[StoredCertificate, ...]  # matches with a private key, in Exchange's order
    winner: StoredCertificate | None

    @property
    def ambiguous(self) -> bool:
        """A TlsCertificateName that names more than one copy."""
        return self.matched_by == BY_TLS_NAME and len(self.matches) > 1

    @property
    def could_present(self) -> tuple[StoredCertificate, ...]:
        """Copies an outbound session might present (all matches when ambiguous)."""
        if self.ambiguous:
            return self.matches
        return (self.winner,) if self.winner is not None else ()


@lru_cache(maxsize=65536)
def _key_of_host_strings(issuer: str, subject: str) -> tuple | None:
    try:
        return (name_key(issuer), name_key(subject))
    except InputError:
        return None


def clear_cache() -> None:
    _key_of_host_strings.cache_clear()


def group_key(item: StoredCertificate) -> tuple:
    """Issuer + subject, compared by parsed form: what TlsCertificateName identifies.

    Parsed from the host's own strings, once per pair of strings (an analysis asks for
    every copy's key many times): cheaper than rendering every certificate's names,
    and it is what Exchange itself compares.
    """
    key = _key_of_host_strings(item.issuer_str, item.subject_str)
    if key is None:  # a host string we cannot parse: fall back to the certificate's own names
        return (name_key(item.certificate.issuer_dn), name_key(item.certificate.subject_dn))
    return key


def tls_name_key(tls_certificate_name: str) -> tuple | None:
    """The group key a TlsCertificateName names, or None when it cannot be parsed."""
    try:
        issuer, subject = parse_tls_certificate_name(tls_certificate_name)
        return (name_key(issuer), name_key(subject))
    except InputError:
        return None


def certificates_named(snapshot: Snapshot, tls_certificate_name: str) -> tuple[StoredCertificate, ...]:
    """Every certificate in My whose issuer and subject match the TlsCertificateName."""
    wanted = tls_name_key(tls_certificate_name)
    if wanted is None:
        return ()
    return tuple(item for item in snapshot.store("My") if group_key(item) == wanted)


def dns_matches(pattern: str, host: str) -> bool:
    """RFC 6125 matching: case-insensitive, a wildcard only as the whole left-most label."""
    pattern, host = pattern.rstrip(".").casefold(), host.rstrip(".").casefold()
    if pattern == host:
        return True
    if pattern.startswith("*.") and "*" not in pattern[2:]:
        head, _unused, rest = host.partition(".")
        return bool(head) and rest == pattern[2:] and "." in rest
    return False


def covers(item_sans: tuple[str, ...], common_name: str | None, host: str) -> bool:
    """True when a certificate's SAN (or, lacking any SAN, its CN) covers ``host``."""
    names = item_sans if item_sans else ((common_name,) if common_name else ())
    return any(dns_matches(n, host) for n in names)


def _may_name(item: StoredCertificate, fqdn: str) -> bool:
    """A cheap and exact pre-test: False only when the certificate cannot name ``fqdn``.

    A SAN dNSName is an IA5String, so it sits in the DER as literal ASCII; the CN is
    in the subject as the host renders it. Either holds the name itself or, for a
    wildcard, ``*.`` and the parent domain. Parsing a certificate's names costs far
    more than these substring tests, and a host may keep thousands of copies in My.
    """
    host = fqdn.rstrip(".").casefold()
    if not host.isascii():
        return True  # internationalised names: leave them to the full comparison
    parent = host.partition(".")[2]
    needles = (host, f"*.{parent}") if parent else (host,)
    der = item.certificate.der.lower()
    subject = item.subject_str.casefold()
    return any(needle.encode("ascii") in der or needle in subject for needle in needles)


def _matches_fqdn(item: StoredCertificate, fqdn: str) -> bool:
    if not _may_name(item, fqdn):
        return False
    cert = item.certificate
    if cert.common_name and dns_matches(cert.common_name, fqdn):
        return True
    return any(dns_matches(n, fqdn) for n in cert.sans)


def _exchange_order(items: tuple[StoredCertificate, ...]) -> tuple[StoredCertificate, ...]:
    return tuple(sorted(items, key=lambda i: (-i.certificate.not_before.timestamp(), i.thumbprint)))


def _pick(candidates: tuple[StoredCertificate, ...], now: dt.datetime) -> StoredCertificate | None:
    for item in candidates:
        if not item.certificate.is_self_signed and item.certificate.is_valid_at(now):
            return item
    for item in candidates:
        if item.certificate.is_self_signed:
            return item
    # An expired (or not yet valid) winner is still used.
    return candidates[0] if candidates else None


def predict(snapshot: Snapshot, tls_certificate_name: str | None, fqdn: str | None, now: dt.datetime) -> Selection:
    """The certificate Exchange should present for a connector with these settings."""
    if tls_certificate_name:
        matched_by, target = BY_TLS_NAME, tls_certificate_name
        matches = certificates_named(snapshot, tls_certificate_name)
    elif fqdn:
        matched_by, target = BY_FQDN, fqdn
        matches = tuple(i for i in snapshot.store("My") if _matches_fqdn(i, fqdn))
    else:
        matched_by, target = BY_SERVER_FQDN, snapshot.host.fqdn
        matches = tuple(i for i in snapshot.store("My") if _matches_fqdn(i, snapshot.host.fqdn))
    matches = _exchange_order(matches)
    candidates = tuple(i for i in matches if i.has_private_key)
    return Selection(matched_by, target, matches, candidates, _pick(candidates, now))
