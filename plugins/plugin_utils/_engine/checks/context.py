"""Everything the checks and the planner derive once from a snapshot and a desired state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.chains import (
    ChainResult,
    ChainVerifier,
    chain_verifier,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import (
    Selection,
    StoreIndex,
    certificates_named,
    group_key,
    predict,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import Certificate
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import build_tls_certificate_name
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import (
    Connector,
    ConnectorKind,
    Snapshot,
    StoredCertificate,
)


@dataclass(frozen=True)
class Binder:
    """Something that names a certificate by TlsCertificateName: a connector or the hybrid configuration."""

    kind: ConnectorKind
    identity: str
    tls_certificate_name: str | None
    fqdn: str | None
    connector: Connector | None = None

    @property
    def label(self) -> str:
        if self.kind is ConnectorKind.HYBRID:
            return "the hybrid configuration"
        return f"{self.kind.value} connector {self.identity}"

    def evidence(self) -> dict:
        return {
            "kind": self.kind.value,
            "identity": self.identity,
            "tls_certificate_name": self.tls_certificate_name,
            "fqdn": self.fqdn,
        }


def is_this_server(snapshot: Snapshot, servers: Sequence[str]) -> bool:
    """Whether a list of Exchange server names (SourceTransportServers, ...) includes the server read."""
    host = snapshot.host
    mine = {host.computer_name.casefold(), host.fqdn.casefold(), host.fqdn.partition(".")[0].casefold()}
    return any(str(server).strip().casefold() in mine for server in servers)


def serves_here(snapshot: Snapshot, connector: Connector) -> bool:
    """Whether this server uses ``connector``: a send connector only on its SourceTransportServers.

    A send connector is an organisation object, but only its source transport servers send through it and
    present its certificate; judging it on any other server (which need not even hold that certificate) is
    the false positive CSS-Exchange HealthChecker had (microsoft/CSS-Exchange issue 1932, fixed by PR 2234).
    An empty list (unknown) counts as this server.
    """
    if connector.kind is not ConnectorKind.SEND or not connector.source_transport_servers:
        return True
    return is_this_server(snapshot, connector.source_transport_servers)


def hybrid_serves_here(snapshot: Snapshot) -> bool:
    """Whether the hybrid configuration's TlsCertificateName is presented by this server (same reasoning)."""
    ex = snapshot.exchange
    hybrid = ex.hybrid_configuration if ex is not None else None
    if hybrid is None:
        return True
    servers = hybrid.sending_transport_servers + hybrid.receiving_transport_servers + hybrid.edge_transport_servers
    return not servers or is_this_server(snapshot, servers)


def binders(snapshot: Snapshot) -> tuple[Binder, ...]:
    ex = snapshot.exchange
    if ex is None:
        return ()
    out = [Binder(c.kind, c.identity, c.tls_certificate_name, c.fqdn, c) for c in ex.connectors]
    if ex.hybrid_configuration is not None:
        out.append(
            Binder(ConnectorKind.HYBRID, "HybridConfiguration", ex.hybrid_configuration.tls_certificate_name, None)
        )
    return tuple(out)


def named_by_tls_name(snapshot: Snapshot, index: StoreIndex | None = None) -> dict[str, tuple[StoredCertificate, ...]]:
    """Each binder's TlsCertificateName -> the copies in My it names: one pass over My for every binder."""
    index = index if index is not None else StoreIndex(snapshot.store("My"))
    return {
        b.tls_certificate_name: index.named(b.tls_certificate_name) for b in binders(snapshot) if b.tls_certificate_name
    }


def binders_naming_only(
    snapshot: Snapshot, thumbprint: str, named_by: Mapping[str, tuple[StoredCertificate, ...]] | None = None
) -> list[Binder]:
    """The binders whose TlsCertificateName matches ``thumbprint`` and no other copy in My.

    ``named_by`` maps each TlsCertificateName to the copies it names, when the caller indexed
    them already (asked for every certificate of a large store, the index keeps the analysis
    linear); without it the store is scanned.
    """
    out = []
    for binder in binders(snapshot):
        name = binder.tls_certificate_name
        if name:
            # The index may cover only the binders a check judges (connector scope): scan for the others.
            known = named_by.get(name) if named_by is not None else None
            named = known if known is not None else certificates_named(snapshot, name)
            if len(named) == 1 and named[0].thumbprint == thumbprint:
                out.append(binder)
    return out


def binding_reasons(
    snapshot: Snapshot,
    thumbprint: str,
    *,
    covered_services: Sequence[str] = (),
    named_by: Mapping[str, tuple[StoredCertificate, ...]] | None = None,
) -> list[str]:
    """Why removing ``thumbprint`` from My would break something (empty: nothing binds it).

    ``covered_services`` are services another certificate already carries, so
    the ones this copy has stop mattering once it is gone. ``named_by`` maps each
    TlsCertificateName to the copies it names, when the caller indexed them
    already (asking for every certificate of a large store, the index is what
    keeps the analysis linear); without it the store is scanned.
    """
    reasons: list[str] = []
    ex = snapshot.exchange
    if ex is not None:
        services = [s for s in ex.services_of(thumbprint) if s not in covered_services]
        if services:
            reasons.append(f"Exchange services {', '.join(services)} are enabled on it")
        if ex.internal_transport_thumbprint == thumbprint:
            reasons.append("it is the internal transport certificate")
        reasons.extend(f"it is {binding}" for binding in ex.organisation_bindings_of(thumbprint))
        reasons.extend(
            f"{binder.label} names it (and only it) by TlsCertificateName"
            for binder in binders_naming_only(snapshot, thumbprint, named_by)
        )
    for binding in snapshot.iis_bindings:
        if binding.thumbprint == thumbprint:
            reasons.append(f"IIS binding {binding.site} {binding.binding} uses it")
    for sys_binding in snapshot.http_sys_bindings:
        if sys_binding.thumbprint == thumbprint and sys_binding.store.casefold() == "my":
            reasons.append(f"http.sys SSL binding {sys_binding.endpoint} uses it")
    return reasons


@dataclass
class Context:
    snapshot: Snapshot
    desired: DesiredState | None
    now: dt.datetime
    trust_bundle: tuple[Certificate, ...] = ()
    _chain_cache: dict[str, ChainResult] = field(default_factory=dict)

    # -- stores ------------------------------------------------------------------
    @cached_property
    def host_anchors(self) -> tuple[Certificate, ...]:
        return tuple(i.certificate for i in self.snapshot.store("Root") + self.snapshot.store("AuthRoot"))

    @cached_property
    def host_intermediates(self) -> tuple[Certificate, ...]:
        return tuple(i.certificate for i in self.snapshot.store("CA"))

    @cached_property
    def verifier(self) -> ChainVerifier:
        return chain_verifier(self.host_intermediates, self.host_anchors + self.trust_bundle, self.now)

    @cached_property
    def bundle_verifier(self) -> ChainVerifier | None:
        """Host stores plus the user's bundle (its self-signed roots only when install_root is set)."""
        if self.desired is None or not self.desired.chain:
            return None
        bundle = self.desired.chain
        roots = tuple(c for c in bundle if c.is_self_signed) if self.desired.install_root else ()
        intermediates = tuple(c for c in bundle if not c.is_self_signed)
        return chain_verifier(
            self.host_intermediates + intermediates, self.host_anchors + self.trust_bundle + roots, self.now
        )

    def chain(self, cert: Certificate) -> ChainResult:
        result = self._chain_cache.get(cert.thumbprint)
        if result is None:
            result = self.verifier.verify(cert)
            self._chain_cache[cert.thumbprint] = result
        return result

    @cached_property
    def host_store_thumbprints(self) -> frozenset[str]:
        return frozenset(
            i.thumbprint for name in ("CA", "Root", "AuthRoot") for i in self.snapshot.store(name)
        ) | frozenset(c.thumbprint for c in self.trust_bundle)

    # -- the intended certificate ---------------------------------------------------
    @cached_property
    def intended_thumbprint(self) -> str | None:
        return self.desired.intended_thumbprint if self.desired is not None else None

    @cached_property
    def intended_stored(self) -> StoredCertificate | None:
        return self.snapshot.find(self.intended_thumbprint) if self.intended_thumbprint else None

    @cached_property
    def intended_cert(self) -> Certificate | None:
        if self.intended_stored is not None:
            return self.intended_stored.certificate
        if self.desired is not None and self.desired.pfx_certificate is not None:
            return self.desired.pfx_certificate
        return None

    @cached_property
    def intended_tls_name(self) -> str | None:
        if self.intended_stored is not None:
            return self.intended_stored.tls_certificate_name
        cert = self.intended_cert
        return build_tls_certificate_name(cert.issuer_str, cert.subject_str) if cert is not None else None

    @cached_property
    def intended_group(self) -> tuple | None:
        if self.intended_stored is not None:
            return group_key(self.intended_stored)
        cert = self.intended_cert
        return (cert.issuer_key, cert.subject_key) if cert is not None else None

    @cached_property
    def intended_has_key(self) -> bool:
        """True when the intended certificate has (or the plan's PFX import gives it) a private key."""
        if self.desired is None or self.intended_cert is None:
            return False
        if self.desired.pfx_b64:
            return True
        return self.intended_stored is not None and self.intended_stored.has_private_key

    # -- Exchange --------------------------------------------------------------------
    def services(self, thumbprint: str) -> tuple[str, ...]:
        ex = self.snapshot.exchange
        return ex.services_of(thumbprint) if ex is not None else ()

    def status(self, thumbprint: str) -> str | None:
        ex = self.snapshot.exchange
        return ex.status_of(thumbprint) if ex is not None else None

    @cached_property
    def binders(self) -> tuple[Binder, ...]:
        """What names a certificate on this server: the connectors it serves, the hybrid configuration if listed.

        Removal safety (binding_reasons) still counts every binder: keeping a certificate is never the risk.
        """
        return tuple(
            b
            for b in binders(self.snapshot)
            if (b.connector is None and hybrid_serves_here(self.snapshot))
            or (b.connector is not None and serves_here(self.snapshot, b.connector))
        )

    @cached_property
    def my_index(self) -> StoreIndex:
        return StoreIndex(self.snapshot.store("My"))

    def my_index_after(self, after: Snapshot) -> StoreIndex:
        """My's index in a later state of this server (a plan's end state), answered from ``my_index``."""
        return self.my_index.changed_to(after.store("My"))

    @cached_property
    def selections(self) -> dict[tuple[str, str], Selection]:
        return {
            (b.kind, b.identity): predict(self.snapshot, b.tls_certificate_name, b.fqdn, self.now, index=self.my_index)
            for b in self.binders
        }

    @cached_property
    def groups(self) -> dict[tuple, tuple[StoredCertificate, ...]]:
        """Certificates in My grouped by issuer + subject (parsed form)."""
        return {
            k: v if len(v) == 1 else tuple(sorted(v, key=lambda i: i.thumbprint))
            for k, v in self.my_index.by_group.items()
        }

    @cached_property
    def duplicate_groups(self) -> list[tuple[StoredCertificate, ...]]:
        return sorted((g for g in self.groups.values() if len(g) > 1), key=lambda g: g[0].thumbprint)

    @cached_property
    def named_by_tls_name(self) -> dict[str, tuple[StoredCertificate, ...]]:
        """Every binder's TlsCertificateName (on this server or not) -> the copies in My it names."""
        return named_by_tls_name(self.snapshot, self.my_index)

    def bound_reasons(self, item: StoredCertificate) -> list[str]:
        """Why a certificate in My is in use now (bindings plus Exchange's predicted choice)."""
        named_by = self.named_by_tls_name
        reasons = binding_reasons(self.snapshot, item.thumbprint, named_by=named_by)
        naming = {(b.kind, b.identity) for b in binders_naming_only(self.snapshot, item.thumbprint, named_by)}
        for binder in self.binders:
            selection = self.selections[(binder.kind, binder.identity)]
            if item in selection.could_present and (binder.kind, binder.identity) not in naming:
                reasons.append(f"{binder.label} may present it")
        return reasons

    @cached_property
    def _maybe_bound(self) -> frozenset[str]:
        """Every thumbprint something could bind: only these can have ``bound_reasons`` (a superset)."""
        ex = self.snapshot.exchange
        out: set[str] = {b.thumbprint for b in self.snapshot.iis_bindings if b.thumbprint}
        out.update(b.thumbprint for b in self.snapshot.http_sys_bindings)
        if ex is not None:
            out.update(t for t, entry in ex.certificates.items() if entry.services)
            if ex.internal_transport_thumbprint:
                out.add(ex.internal_transport_thumbprint)
            out.update(ex.organisation_thumbprints)
        for named in self.named_by_tls_name.values():
            out.update(i.thumbprint for i in named)
        for selection in self.selections.values():
            out.update(i.thumbprint for i in selection.could_present)
        return frozenset(out)

    @cached_property
    def bound(self) -> list[tuple[StoredCertificate, list[str]]]:
        out = []
        maybe = self._maybe_bound
        for item in self.snapshot.store("My"):
            if item.thumbprint not in maybe:
                continue  # nothing names, binds or may present it: no reasons to compute
            reasons = self.bound_reasons(item)
            if reasons:
                out.append((item, reasons))
        return sorted(out, key=lambda pair: pair[0].thumbprint)


def keeper_order(item: StoredCertificate, now: dt.datetime) -> tuple:
    """The copy Exchange should use first: private key, valid now, CA-issued, newest NotBefore."""
    cert = item.certificate
    return (
        not item.has_private_key,
        not cert.is_valid_at(now),
        cert.is_self_signed,
        -cert.not_before.timestamp(),
        item.thumbprint,
    )
