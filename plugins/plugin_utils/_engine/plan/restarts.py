"""Which Windows services must restart before the wire shows what the store holds.

A service acquires its SChannel credential (certificate, key, and the chain
built for it) when it starts and keeps it until it restarts. So a change to
what the store would present - a new intermediate, another certificate enabled
or selected, a binding moved - reaches the wire only after the service that
presents it restarts: ``MSExchangeFrontEndTransport`` (the port-25 receive
connector) and ``MSExchangeTransport`` (Hub, outbound) for SMTP, ``W3SVC`` for
IIS. What "the store would present" is predicted here from a snapshot, the
same way for the state before and after a plan; a service restarts when its
prediction changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.chains import chain_verifier
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import predict
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.findings import Finding, finding
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import (
    Connector,
    Snapshot,
    StoredCertificate,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step

MODES = ("never", "when_needed", "always")
SERVICES_BY_PROTOCOL: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"SMTP": ("MSExchangeFrontEndTransport", "MSExchangeTransport"), "IIS": ("W3SVC",)}
)
IIS_SITE = "Default Web Site"


@dataclass(frozen=True)
class Presented:
    """What one protocol presents: the leaf and the intermediates sent after it (root left out)."""

    certificate: str | None
    chain: tuple[str, ...]
    complete: bool  # the chain reaches one of the host's own roots

    def to_dict(self) -> dict:
        return {"certificate": self.certificate, "chain": list(self.chain), "complete": self.complete}


def _smtp_connector(snapshot: Snapshot) -> Connector | None:
    """This server's enabled receive connector bound to port 25 ("Default Frontend <server>")."""
    exchange = snapshot.exchange
    if exchange is None:
        return None
    server = snapshot.host.computer_name.casefold()
    for connector in exchange.receive_connectors:
        if not connector.enabled or (connector.server or "").casefold() != server:
            continue
        if any(str(b).rsplit(":", 1)[-1] == "25" for b in connector.raw.get("bindings") or ()):
            return connector
    return None


def _smtp_leaf(snapshot: Snapshot, now: dt.datetime) -> StoredCertificate | None:
    connector = _smtp_connector(snapshot)
    if connector is None:
        return None
    if "tls" not in [str(m).casefold() for m in connector.raw.get("auth_mechanism") or ()]:
        return None
    return predict(snapshot, connector.tls_certificate_name, connector.fqdn, now).winner


def _iis_leaf(snapshot: Snapshot) -> StoredCertificate | None:
    for binding in snapshot.iis_bindings:
        if binding.site == IIS_SITE and binding.port == 443 and binding.thumbprint:
            found = [i for i in snapshot.store(binding.store or "My") if i.thumbprint == binding.thumbprint]
            return found[0] if found and found[0].has_private_key else None
    return None


def _presented(snapshot: Snapshot, leaf: StoredCertificate | None, now: dt.datetime) -> Presented:
    if leaf is None:
        return Presented(None, (), False)
    anchors = tuple(i.certificate for i in snapshot.store("Root") + snapshot.store("AuthRoot"))
    intermediates = tuple(i.certificate for i in snapshot.store("CA"))
    result = chain_verifier(intermediates, anchors, now).verify(leaf.certificate)
    sent = tuple(c.thumbprint for c in result.path[1:] if not c.is_self_signed)
    return Presented(leaf.thumbprint, sent, result.ok)


def stored_presentation(snapshot: Snapshot, now: dt.datetime) -> dict[str, Presented]:
    """Per protocol (``SMTP``, ``IIS``), what a service started now would present."""
    return {
        "SMTP": _presented(snapshot, _smtp_leaf(snapshot, now), now),
        "IIS": _presented(snapshot, _iis_leaf(snapshot), now),
    }


def restarts_needed(before: Snapshot, after: Snapshot, now: dt.datetime) -> dict[str, str]:
    """Service -> why it must restart, for the services whose presentation the change alters."""
    old, new = stored_presentation(before, now), stored_presentation(after, now)
    needed: dict[str, str] = {}
    for protocol, services in SERVICES_BY_PROTOCOL.items():
        if old[protocol] == new[protocol]:
            continue
        reason = _why(protocol, old[protocol], new[protocol])
        for service in services:
            if protocol == "SMTP" and before.exchange is None:
                continue
            needed[service] = reason
    return needed


def _why(protocol: str, old: Presented, new: Presented) -> str:
    if old.certificate != new.certificate:
        return f"{protocol} would present {new.certificate or 'no certificate'} instead of {old.certificate or 'none'}"
    sent, before = ", ".join(new.chain) or "(none)", ", ".join(old.chain) or "(none)"
    return f"{protocol} would send the chain {sent} instead of {before}"


def all_services(snapshot: Snapshot) -> dict[str, str]:
    """Every service that presents a certificate on this host (``restart_services: always``)."""
    services = ("W3SVC",) if snapshot.exchange is None else (*SERVICES_BY_PROTOCOL["SMTP"], "W3SVC")
    return {service: "restart_services is always" for service in services}


def planned_restarts(mode: str, before: Snapshot, needed: Mapping[str, str]) -> dict[str, str]:
    """The restarts ``mode`` asks for: none, those the change needs (``restarts_needed``), or every service."""
    if mode not in MODES:
        raise ValueError(f"restart_services {mode!r}: choose one of {', '.join(MODES)}")
    if mode == "never":
        return {}
    if mode == "always":
        return all_services(before)
    return dict(needed)


def restart_steps(restarts: Mapping[str, str], plan: Sequence[Step]) -> list[Step]:
    """Steps that restart ``restarts``, numbered after ``plan``: they run once everything else is done."""
    first = max((s.id for s in plan), default=0) + 1
    return [
        Step(first + index, "restart_service", MappingProxyType({"service": service}), reason)
        for index, (service, reason) in enumerate(restarts.items())
    ]


def restart_needed(pending: Mapping[str, str], host: str) -> Finding:
    """The change made needs these services restarted, and none was (``restart_services: never``)."""
    names = ", ".join(pending)
    return finding(
        "restart_needed",
        f"{host}: the change made needs {names} restarted before the wire shows it (a service keeps the "
        "certificate and chain it loaded when it started); restart them, or run with restart_services: when_needed.",
        {"services": dict(pending)},
        fix="restart_service",
    )
