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


def dangling_references(host: HostState) -> list[dict[str, Any]]:
    """Every configured reference to a certificate that is not in ``LocalMachine\\My``."""
    present = host.certificates("My")
    thumbprints = {c.thumbprint for c in present}
    names = {tls_certificate_name(c.cert) for c in present}
    server = host.computer_name.upper()
    found: list[dict[str, Any]] = []

    def by_name(kind: str, ref: str, value: Any) -> None:
        if value and value not in names:
            found.append({"kind": kind, "ref": ref, "tls_certificate_name": value})

    def by_thumbprint(kind: str, ref: str, value: Any) -> None:
        if value and str(value).upper() not in thumbprints:
            found.append({"kind": kind, "ref": ref, "thumbprint": str(value).upper()})

    if host.has_exchange:
        for connector in host.send_connectors():
            senders = {str(s).upper() for s in connector.get("source_transport_servers") or []}
            if server in senders:
                by_name("send_connector", str(connector.get("identity")), connector.get("tls_certificate_name"))
        for connector in host.receive_connectors():
            if str(connector.get("server", "")).upper() == server:
                by_name("receive_connector", str(connector.get("identity")), connector.get("tls_certificate_name"))
        hybrid = host.hybrid() or {}
        members = {
            str(s).upper()
            for s in (hybrid.get("sending_transport_servers") or []) + (hybrid.get("receiving_transport_servers") or [])
        }
        if server in members:
            by_name("hybrid_configuration", "hybrid", hybrid.get("tls_certificate_name"))
        for thumb, entry in host.exchange_certificates().items():
            if entry.get("services"):
                by_thumbprint("exchange_services", ",".join(entry["services"]), thumb)
        by_thumbprint(
            "internal_transport",
            "InternalTransportCertificateThumbprint",
            host.transport().get("internal_transport_certificate_thumbprint"),
        )
    for binding in host.iis_bindings():
        by_thumbprint("iis_binding", f"{binding.get('site')} {binding.get('binding')}", binding.get("thumbprint"))
    return found


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
