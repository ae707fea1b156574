"""What a simulated server would present on the wire: the certificate its service selects and the chain built for it.

Deliberately independent of the project's engine (the lab is the oracle):

* SMTP (the Front End Transport service's port-25 receive connector): no STARTTLS
  unless the connector's AuthMechanism includes Tls; candidates are the
  certificates in My named by its TlsCertificateName, else matching its FQDN,
  else the server's FQDN; a candidate needs a private key; newest NotBefore
  first; the first valid CA-issued one wins, else the first self-signed one
  (Microsoft, "Selection of Inbound STARTTLS Certificates"; see docs/lab.md).
* HTTPS (IIS): the certificate the Default Web Site's 443 binding names.

The chain is what the Windows chain engine finds by walking issuer names
through the host's CA, Root and AuthRoot stores (certificates in Disallowed are
skipped); the self-signed root is not sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from tests.lab.exchange_oracle import parse_tls_certificate_name
from tests.lab.state import HostState, StoredCert

UTC = dt.UTC
SMTP_SERVICE = "MSExchangeFrontEndTransport"
HUB_SERVICE = "MSExchangeTransport"
IIS_SERVICE = "W3SVC"
SERVICES = (SMTP_SERVICE, HUB_SERVICE, IIS_SERVICE)
_MAX_DEPTH = 8


@dataclass(frozen=True)
class Credential:
    """What a service loaded when it started: the leaf (with its key) and the intermediates it sends."""

    leaf: StoredCert | None
    intermediates: tuple[StoredCert, ...]
    reason: str  # why this leaf, or why none

    def describe(self, started_utc: str) -> dict[str, Any]:
        return {
            "started_utc": started_utc,
            "certificate": self.leaf.thumbprint if self.leaf else None,
            "chain": [c.thumbprint for c in self.intermediates],
            "reason": self.reason,
        }


def _names_of(cert: x509.Certificate) -> list[str]:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [n.lower() for n in sans.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    return names + [str(a.value).lower() for a in cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]


def _matches_fqdn(cert: x509.Certificate, fqdn: str) -> bool:
    fqdn = fqdn.lower()
    for name in _names_of(cert):
        if name == fqdn or (name.startswith("*.") and fqdn.split(".", 1)[-1] == name[2:] and "." in fqdn):
            return True
    return False


def _disallowed(host: HostState) -> set[str]:
    return {c.thumbprint for c in host.certificates("Disallowed")}


def _valid(cert: StoredCert, now: dt.datetime) -> bool:
    return cert.cert.not_valid_before_utc <= now <= cert.cert.not_valid_after_utc


def smtp_connector(host: HostState) -> dict[str, Any] | None:
    """This server's receive connector bound to port 25 (Exchange's "Default Frontend <server>")."""
    server = host.computer_name.lower()
    for connector in host.receive_connectors(shared=True):
        if str(connector.get("server", "")).lower() != server or connector.get("enabled") is False:
            continue
        if any(str(b).rsplit(":", 1)[-1] == "25" for b in connector.get("bindings") or []):
            return connector
    return None


def select_smtp(host: HostState, now: dt.datetime) -> tuple[StoredCert | None, str]:
    """The certificate the port-25 receive connector offers with STARTTLS, and why."""
    connector = smtp_connector(host)
    if connector is None:
        return None, "no enabled receive connector listens on port 25"
    if "tls" not in [str(m).lower() for m in connector.get("auth_mechanism") or []]:
        return None, "AuthMechanism does not include Tls: STARTTLS is not offered"
    disallowed = _disallowed(host)
    mine = [c for c in host.certificates("My") if c.thumbprint not in disallowed]
    named = parse_tls_certificate_name(str(connector.get("tls_certificate_name") or ""))
    if named is not None:
        issuer, subject = named
        candidates = [c for c in mine if c.issuer_dn == issuer and c.subject_dn == subject]
        how = "TlsCertificateName"
    else:
        fqdn = str(connector.get("fqdn") or host.info.get("fqdn") or "")
        candidates = [c for c in mine if _matches_fqdn(c.cert, fqdn)]
        how = f"FQDN {fqdn}"
    candidates = sorted(
        (c for c in candidates if c.has_private_key), key=lambda c: c.cert.not_valid_before_utc, reverse=True
    )
    if not candidates:
        return None, f"no certificate with a private key matches the connector's {how}: STARTTLS is not offered"
    for cert in candidates:
        if cert.cert.issuer != cert.cert.subject and _valid(cert, now):
            return cert, f"newest valid CA-issued certificate matching the connector's {how}"
    self_signed = [c for c in candidates if c.cert.issuer == c.cert.subject]
    if self_signed:
        return self_signed[0], f"no valid CA-issued certificate matches the connector's {how}; the self-signed one"
    return candidates[0], f"newest certificate matching the connector's {how} (none is valid)"


def select_iis(host: HostState) -> tuple[StoredCert | None, str]:
    """The certificate the Default Web Site's port-443 binding names."""
    for binding in host.iis_bindings():
        if binding.get("site") == "Default Web Site" and int(binding.get("port") or 0) == 443:
            thumb = str(binding.get("thumbprint") or "").upper()
            cert = host.find(str(binding.get("store") or "My"), thumb) if thumb else None
            if cert is None:
                return None, f"the binding names {thumb or 'no certificate'}, which is not in the store"
            if not cert.has_private_key:
                return None, f"the binding names {thumb}, which has no private key"
            return cert, f"the Default Web Site binding {binding.get('binding')}"
    return None, "the Default Web Site has no 443 binding"


def build_chain(host: HostState, leaf: StoredCert) -> tuple[StoredCert, ...]:
    """The intermediates sent after ``leaf``: an issuer-name walk through CA, Root and AuthRoot, root left out."""
    disallowed = _disallowed(host)
    pool = [
        c for store in ("CA", "Root", "AuthRoot") for c in host.certificates(store) if c.thumbprint not in disallowed
    ]
    chain: list[StoredCert] = []
    current = leaf.cert
    for _depth in range(_MAX_DEPTH):
        if current.issuer == current.subject:
            break
        issuers = [c for c in pool if c.cert.subject == current.issuer and c.cert != current]
        # Prefer a self-signed root in Root/AuthRoot (the path ends there), else the newest intermediate.
        roots = [c for c in issuers if c.cert.issuer == c.cert.subject and c.store in ("Root", "AuthRoot")]
        if roots:
            break
        if not issuers:
            break
        issuer = max(issuers, key=lambda c: c.cert.not_valid_before_utc)
        if any(c.thumbprint == issuer.thumbprint for c in chain):
            break
        chain.append(issuer)
        current = issuer.cert
    return tuple(chain)


def credential_for(host: HostState, service: str, now: dt.datetime) -> Credential:
    """What ``service`` loads when it starts now."""
    if service == IIS_SERVICE:
        leaf, reason = select_iis(host)
    else:
        leaf, reason = select_smtp(host, now)
    return Credential(leaf, build_chain(host, leaf) if leaf else (), reason)
