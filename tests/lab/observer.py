"""The apply observer: after every step, what still points at a certificate that is gone.

A tool that deletes certificates must never leave Exchange, IIS or the
transport service naming one that left the store, not even between two steps
of one apply. The lab therefore looks after every step (and once before the
first) and appends one JSON line per look to
``<lab>/observations/<host>/observations.log`` (outside ``hosts/``, so that
``state_digest`` and "changed nothing" checks do not see it)::

    {"time": 1760000000.1, "step": 2, "id": "s2", "action": "remove", "status": "changed",
     "dangling": [{"kind": "iis_binding", "ref": "Default Web Site *:443:", "thumbprint": "AB12..."}]}

``step`` 0 is the state before the first step. ``dangling`` lists every
reference that matches no certificate in ``My``: send connectors this server
sends for, its receive connectors, the hybrid configuration when it is a
sending or receiving server (by ``<I>issuer<S>subject``), Exchange's
certificate entries, IIS bindings and the internal transport certificate (by
thumbprint). Tests read the file; docs/reliability.md describes it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.lab.state import HostState
from tests.lab.winnames import tls_certificate_name

OBSERVATIONS_FILE = "observations.log"


Reference = tuple[str, str, str, str]  # kind, ref, "tls_certificate_name" or "thumbprint", value


def configured_references(host: HostState) -> list[Reference]:
    """Every place the server's configuration names a certificate, by name or by thumbprint.

    By ``<I>issuer<S>subject``: send connectors this server sends for, its receive connectors, the
    hybrid configuration when it is a sending or receiving server. By thumbprint: Exchange's
    certificate entries with services, the certificates of AuthConfig and of federation trusts, the internal transport
    certificate, IIS bindings.
    """
    server = host.computer_name.upper()
    found: list[Reference] = []
    if host.has_exchange:
        for connector in host.send_connectors():
            senders = {str(s).upper() for s in connector.get("source_transport_servers") or []}
            if server in senders and connector.get("tls_certificate_name"):
                name = str(connector["tls_certificate_name"])
                found.append(("send_connector", str(connector.get("identity")), "tls_certificate_name", name))
        for connector in host.receive_connectors():
            if str(connector.get("server", "")).upper() == server and connector.get("tls_certificate_name"):
                name = str(connector["tls_certificate_name"])
                found.append(("receive_connector", str(connector.get("identity")), "tls_certificate_name", name))
        hybrid = host.hybrid() or {}
        members = {
            str(s).upper()
            for s in (hybrid.get("sending_transport_servers") or []) + (hybrid.get("receiving_transport_servers") or [])
        }
        if server in members and hybrid.get("tls_certificate_name"):
            found.append(
                ("hybrid_configuration", "hybrid", "tls_certificate_name", str(hybrid["tls_certificate_name"]))
            )
        for thumb, entry in host.exchange_certificates().items():
            if entry.get("services"):
                found.append(("exchange_services", ",".join(entry["services"]), "thumbprint", thumb.upper()))
        rotations = [("auth_config", "OAuth", host.auth_config())]
        rotations += [("federation_trust", "federation", trust) for trust in host.federation_trusts()]
        for kind, what, names in rotations:
            for role, thumb in sorted(names.items()):
                if thumb:
                    found.append((kind, f"{role} {what} certificate", "thumbprint", str(thumb).upper()))
        internal = host.transport().get("internal_transport_certificate_thumbprint")
        if internal:
            found.append(
                ("internal_transport", "InternalTransportCertificateThumbprint", "thumbprint", internal.upper())
            )
    for binding in host.iis_bindings():
        if binding.get("thumbprint"):
            ref = f"{binding.get('site')} {binding.get('binding')}"
            found.append(("iis_binding", ref, "thumbprint", str(binding["thumbprint"]).upper()))
    for sys_binding in host.http_sys_bindings():
        if str(sys_binding.get("store") or "My").casefold() == "my":
            found.append(
                ("http_sys_binding", str(sys_binding["endpoint"]), "thumbprint", sys_binding["thumbprint"].upper())
            )
    return found


def dangling_references(host: HostState) -> list[dict[str, Any]]:
    """Every configured reference to a certificate that is not in ``LocalMachine\\My``."""
    present = host.certificates("My")
    known = {
        "thumbprint": {c.thumbprint for c in present},
        "tls_certificate_name": {tls_certificate_name(c.cert) for c in present},
    }
    return [
        {"kind": kind, "ref": ref, key: value}
        for kind, ref, key, value in configured_references(host)
        if value not in known[key]
    ]


def references_lost_without(host: HostState, thumb: str) -> list[Reference]:
    """The references that removing ``thumb`` from ``My`` would leave pointing at nothing.

    By thumbprint: IIS bindings and the internal transport certificate naming it, and each Exchange
    service it has that no other certificate in ``My`` has. By name: those naming its issuer and
    subject when no other certificate in ``My`` has the same (Exchange then finds none).
    """
    present = host.certificates("My")
    removed = next((c for c in present if c.thumbprint == thumb), None)
    if removed is None:
        return []
    name = tls_certificate_name(removed.cert)
    others = [c for c in present if c.thumbprint != thumb]
    same_name = [c for c in others if tls_certificate_name(c.cert) == name]
    table = host.exchange_certificates() if host.has_exchange else {}
    served = {s for c in others for s in (table.get(c.thumbprint) or {}).get("services", [])}
    lost_services = [s for s in (table.get(thumb) or {}).get("services", []) if s not in served]
    lost: list[Reference] = []
    for kind, ref, key, value in configured_references(host):
        if kind == "exchange_services":
            if value == thumb and lost_services:
                lost.append((kind, ",".join(lost_services), key, value))
        elif (key == "thumbprint" and value == thumb) or (
            key == "tls_certificate_name" and value == name and not same_name
        ):
            lost.append((kind, ref, key, value))
    return lost


def observe(host: HostState, step: int, result: dict[str, Any] | None) -> None:
    """Append one observation line (step 0: before the first step)."""
    entry = {
        "time": time.time(),
        "step": step,
        "id": result.get("id") if result else None,
        "action": result.get("action") if result else None,
        "status": result.get("status") if result else None,
        "dangling": dangling_references(host),
    }
    path = observations_path(host.dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with host.lock, path.open("a", encoding="ascii") as handle:
        handle.write(json.dumps(entry) + "\n")


def observations_path(host_dir: Path) -> Path:
    """``<lab>/observations/<host>/observations.log`` for ``<lab>/hosts/<host>``."""
    return host_dir.parent.parent / "observations" / host_dir.name / OBSERVATIONS_FILE


def read_observations(host_dir: Path) -> list[dict[str, Any]]:
    """Every observation of a host, oldest first (empty when it never applied)."""
    path = observations_path(host_dir)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines() if line]
