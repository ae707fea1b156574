"""What the simulated Exchange concludes about its certificates.

Deliberately simple and independent of the project's engine: the lab is the
oracle the engine is tested against. Trust is an issuer-name walk through the
host's own stores; selection follows the rules in DESIGN.md.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from tests.lab.state import HostState, StoredCert

UTC = dt.UTC
_MAX_DEPTH = 8


def _is_self_issued(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def _reaches_root(cert: x509.Certificate, pool: list[StoredCert], depth: int = 0) -> bool:
    """True when an issuer-name walk from ``cert`` ends at a self-signed cert in Root/AuthRoot."""
    if depth > _MAX_DEPTH:
        return False
    if _is_self_issued(cert):
        return any(c.store in ("Root", "AuthRoot") and c.cert == cert for c in pool)
    for candidate in pool:
        if candidate.cert.subject != cert.issuer or candidate.cert == cert:
            continue
        if candidate.store in ("Root", "AuthRoot") and _is_self_issued(candidate.cert):
            return True
        if _reaches_root(candidate.cert, pool, depth + 1):
            return True
    return False


def trust_pool(host: HostState) -> list[StoredCert]:
    return [c for store in ("My", "CA", "Root", "AuthRoot") for c in host.certificates(store)]


def status_of(cert: StoredCert, pool: list[StoredCert], override: str | None, now: dt.datetime) -> str:
    """Exchange's Status: an override from certificates.json wins, then dates, then trust."""
    if override:
        return override
    if not (cert.cert.not_valid_before_utc <= now <= cert.cert.not_valid_after_utc):
        return "DateInvalid"
    if not _reaches_root(cert.cert, pool):
        return "Untrusted"
    return "Valid"


def root_ca_type(cert: StoredCert, pool: list[StoredCert]) -> str:
    if _is_self_issued(cert.cert):
        return "Registry"
    return "ThirdParty" if _reaches_root(cert.cert, pool) else "Unknown"


def parse_tls_certificate_name(value: str) -> tuple[str, str] | None:
    """``<I>issuer<S>subject`` -> (issuer, subject); None when it has another shape.

    The separator is the first ``<S>`` outside double quotes: Windows quotes every name value
    holding ``<`` or ``>`` (CertNameToStr, CERT_X500_NAME_STR), so one inside the issuer is quoted.
    """
    if not value.startswith("<I>"):
        return None
    body, in_quotes = value[3:], False
    for index, ch in enumerate(body):
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and body.startswith("<S>", index):
            return body[:index], body[index + 3 :]
    return None


def outbound_candidates(host: HostState, tls_name: str) -> list[StoredCert]:
    """Certificates in My named by ``tls_name``, newest NotBefore first (the first is the one presented)."""
    parsed = parse_tls_certificate_name(tls_name)
    if parsed is None:
        return []
    issuer, subject = parsed
    matches = [c for c in host.certificates("My") if c.issuer_dn == issuer and c.subject_dn == subject]
    return sorted(matches, key=lambda c: c.cert.not_valid_before_utc, reverse=True)
