"""The pieces of a host's snapshot: stored certificates, Exchange state, connectors, IIS bindings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import Certificate
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import build_tls_certificate_name

EMPTY_RAW: Mapping[str, Any] = MappingProxyType({})


class ConnectorKind(StrEnum):
    """What names a certificate by TlsCertificateName: a send or receive connector, or the hybrid configuration.

    Its value is the word the agent, the options (``send_connectors``) and every output use.
    """

    SEND = "send"
    RECEIVE = "receive"
    HYBRID = "hybrid"


@dataclass(frozen=True)
class HostInfo:
    computer_name: str
    fqdn: str
    time_utc: dt.datetime | None
    os: str
    # Windows build number (17763 is Server 2019): what the server's PFX import understands depends on it.
    os_build: int | None = None
    # The SID of the account the agent ran as (its WinRM logon), which may own the backup folder.
    account_sid: str | None = None


@dataclass(frozen=True)
class StoredCertificate:
    """A certificate as it sits in one store of the host, with the host's own strings."""

    store: str
    certificate: Certificate
    subject_str: str
    issuer_str: str
    has_private_key: bool
    private_key_exportable: bool | None
    friendly_name: str = ""

    @property
    def thumbprint(self) -> str:
        return self.certificate.thumbprint

    @property
    def tls_certificate_name(self) -> str:
        return build_tls_certificate_name(self.issuer_str, self.subject_str)


@dataclass(frozen=True)
class ExchangeCertificate:
    thumbprint: str
    services: tuple[str, ...]
    status: str
    root_ca_type: str


@dataclass(frozen=True)
class Connector:
    """A send or receive connector; ``raw`` keeps the fields the engine does not interpret."""

    kind: ConnectorKind  # SEND or RECEIVE
    identity: str
    name: str
    fqdn: str | None
    tls_certificate_name: str | None
    enabled: bool
    raw: Mapping[str, Any] = field(default_factory=lambda: EMPTY_RAW, compare=False)
    # Send connectors: the servers that send through it (they all present its certificate).
    source_transport_servers: tuple[str, ...] = ()
    # Receive connectors: the server it belongs to.
    server: str | None = None

    def matches(self, wanted: str) -> bool:
        """A user's connector reference: identity or bare name, case-insensitive."""
        folded = wanted.strip().casefold()
        return folded in (self.identity.casefold(), self.name.casefold())


@dataclass(frozen=True)
class HybridConfiguration:
    tls_certificate_name: str | None
    sending_transport_servers: tuple[str, ...] = ()
    receiving_transport_servers: tuple[str, ...] = ()
    edge_transport_servers: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransportService:
    internal_transport_certificate_thumbprint: str | None
    send_protocol_log_path: str | None = None
    receive_protocol_log_path: str | None = None


# How AuthConfig and a federation trust name their certificates: the one in use, the one staged to replace
# it and the one it replaced (Get-AuthConfig's CurrentCertificateThumbprint, NextCertificateThumbprint and
# PreviousCertificateThumbprint; Get-FederationTrust's OrgPrivCertificate, OrgNextPrivCertificate and
# OrgPrevPrivCertificate).
ROTATION_ROLES = ("current", "next", "previous")


@dataclass(frozen=True)
class ExchangeState:
    server: str
    version: str
    certificates: Mapping[str, ExchangeCertificate]
    send_connectors: tuple[Connector, ...]
    receive_connectors: tuple[Connector, ...]
    hybrid_configuration: HybridConfiguration | None
    transport_service: TransportService | None
    role: str = "Mailbox"  # or "Edge": no hybrid configuration, no IIS, SMTP the only service
    # Get-AuthConfig's OAuth certificates as (role, thumbprint): current, next (staged), previous. A binding no
    # connector or service shows; None when the read could not see it (Edge, or the account's roles).
    auth_certificates: tuple[tuple[str, str], ...] | None = None
    # The same for every federation trust's certificates (Get-FederationTrust); None when not read.
    federation_certificates: tuple[tuple[str, str], ...] | None = None

    def auth_roles_of(self, thumbprint: str) -> tuple[str, ...]:
        """Which of AuthConfig's OAuth certificates ``thumbprint`` is (current, next, previous)."""
        return tuple(role for role, value in self.auth_certificates or () if value == thumbprint)

    def organisation_bindings_of(self, thumbprint: str) -> tuple[str, ...]:
        """What in the organisation's configuration names ``thumbprint``, beyond connectors and services."""
        oauth = (
            f"the {role} OAuth certificate of Exchange's AuthConfig (Get-AuthConfig)"
            for role in self.auth_roles_of(thumbprint)
        )
        federation = (
            f"the {role} certificate of a federation trust (Get-FederationTrust)"
            for role, value in self.federation_certificates or ()
            if value == thumbprint
        )
        return (*oauth, *federation)

    @property
    def organisation_thumbprints(self) -> frozenset[str]:
        """Every certificate AuthConfig or a federation trust names (``organisation_bindings_of`` says how)."""
        pairs = (*(self.auth_certificates or ()), *(self.federation_certificates or ()))
        return frozenset(thumbprint for _role, thumbprint in pairs)

    @property
    def organisation_bindings_unread(self) -> tuple[str, ...]:
        """The cmdlets whose bindings this read could not see (Edge Transport has neither)."""
        if self.role == "Edge":
            return ()
        unread = (("Get-AuthConfig", self.auth_certificates), ("Get-FederationTrust", self.federation_certificates))
        return tuple(name for name, value in unread if value is None)

    @property
    def connectors(self) -> tuple[Connector, ...]:
        return self.send_connectors + self.receive_connectors

    def services_of(self, thumbprint: str) -> tuple[str, ...]:
        entry = self.certificates.get(thumbprint)
        return entry.services if entry is not None else ()

    def status_of(self, thumbprint: str) -> str | None:
        entry = self.certificates.get(thumbprint)
        return entry.status if entry is not None else None

    @property
    def internal_transport_thumbprint(self) -> str | None:
        ts = self.transport_service
        return ts.internal_transport_certificate_thumbprint if ts is not None else None


@dataclass(frozen=True)
class IisBinding:
    site: str
    binding: str
    port: int
    host_header: str
    thumbprint: str | None
    store: str = "My"

    @property
    def reference(self) -> str:
        return f"{self.site}:{self.port}"


@dataclass(frozen=True)
class HttpSysBinding:
    """An http.sys SSL binding no IIS site owns (WinRM over HTTPS, ADFS, a vendor console): IP:port or host:port."""

    endpoint: str
    thumbprint: str
    store: str = "My"
