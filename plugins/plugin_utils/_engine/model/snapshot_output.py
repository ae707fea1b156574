"""A snapshot written out: the facts ``cert_facts`` returns, and the agent's ``read`` shape again."""

from __future__ import annotations

import base64
import datetime as dt
from typing import TYPE_CHECKING, Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.host_parts import (
    ROTATION_ROLES,
    Connector,
    ConnectorKind,
    ExchangeState,
    HttpSysBinding,
    HybridConfiguration,
    IisBinding,
    StoredCertificate,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.read_result import STORE_NAMES
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.server_folders import (
    folders_read_result,
)

if TYPE_CHECKING:
    from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot


def _certificate_facts(snapshot: Snapshot, item: StoredCertificate, now: dt.datetime, include_der: bool) -> dict:
    facts = item.certificate.to_dict(now, include_der=include_der)
    facts.update(
        {
            "store": item.store,
            "subject": item.subject_str,
            "issuer": item.issuer_str,
            "has_private_key": item.has_private_key,
            "exportable": item.private_key_exportable,
            "friendly_name": item.friendly_name,
            "tls_certificate_name": item.tls_certificate_name,
        }
    )
    if item.store == "My" and snapshot.exchange is not None:
        entry = snapshot.exchange.certificates.get(item.thumbprint)
        facts["services"] = list(entry.services) if entry else []
        facts["status"] = entry.status if entry else None
        facts["root_ca_type"] = entry.root_ca_type if entry else None
    return facts


def _host_dict(snapshot: Snapshot) -> dict[str, Any]:
    host = snapshot.host
    return {
        "computer_name": host.computer_name,
        "fqdn": host.fqdn,
        "time_utc": host.time_utc.isoformat() if host.time_utc else None,
        "os": host.os,
    }


def snapshot_facts(snapshot: Snapshot, now: dt.datetime, *, include_der: bool = False) -> dict:
    """The stable JSON shape ``cert_facts`` returns (documented in docs/engine.md)."""
    facts: dict[str, Any] = {
        "host": _host_dict(snapshot),
        "stores": {
            name: [_certificate_facts(snapshot, item, now, include_der) for item in snapshot.store(name)]
            for name in STORE_NAMES
        },
        "exchange": None,
        "iis_bindings": [_binding_dict(b) for b in snapshot.iis_bindings],
        "http_sys_bindings": [_http_sys_dict(b) for b in snapshot.http_sys_bindings],
    }
    ex = snapshot.exchange
    if ex is not None:
        facts["exchange"] = {
            "server": ex.server,
            "version": ex.version,
            "send_connectors": [_connector_facts(c) for c in ex.send_connectors],
            "receive_connectors": [_connector_facts(c) for c in ex.receive_connectors],
            "hybrid_configuration": _hybrid_dict(ex.hybrid_configuration),
            "internal_transport_certificate_thumbprint": ex.internal_transport_thumbprint,
        }
    return facts


def _organisation_raw(ex: ExchangeState) -> dict[str, Any]:
    """``auth_config`` and ``federation_trusts`` in the read's shape (one trust entry per named certificate)."""
    auth, federation = ex.auth_certificates, ex.federation_certificates
    return {
        "auth_config": None if auth is None else {role: dict(auth).get(role) for role in ROTATION_ROLES},
        "federation_trusts": None if federation is None else [{role: value} for role, value in federation],
    }


def snapshot_read_result(snapshot: Snapshot) -> dict:
    """Back to the agent's ``read`` shape (for simulated hosts and round-trip tests)."""
    stores = {
        name: [
            {
                "thumbprint": item.thumbprint,
                "der_b64": base64.b64encode(item.certificate.der).decode("ascii"),
                "subject": item.subject_str,
                "issuer": item.issuer_str,
                "has_private_key": item.has_private_key,
                "private_key_exportable": item.private_key_exportable,
                "friendly_name": item.friendly_name,
            }
            for item in snapshot.store(name)
        ]
        for name in STORE_NAMES
    }
    exchange = None
    ex = snapshot.exchange
    if ex is not None:
        exchange = {
            "server": ex.server,
            "version": ex.version,
            "certificates": [
                {
                    "thumbprint": c.thumbprint,
                    "services": list(c.services),
                    "status": c.status,
                    "root_ca_type": c.root_ca_type,
                }
                for c in ex.certificates.values()
            ],
            "send_connectors": [_connector_raw(c) for c in ex.send_connectors],
            "receive_connectors": [_connector_raw(c) for c in ex.receive_connectors],
            "hybrid_configuration": _hybrid_dict(ex.hybrid_configuration),
            **_organisation_raw(ex),
            "transport_service": None
            if ex.transport_service is None
            else {
                "internal_transport_certificate_thumbprint": ex.internal_transport_thumbprint,
                "send_protocol_log_path": ex.transport_service.send_protocol_log_path,
                "receive_protocol_log_path": ex.transport_service.receive_protocol_log_path,
            },
        }
    system, backup = folders_read_result(snapshot.folders)
    result: dict[str, Any] = {
        "host": _host_dict(snapshot),
        "stores": stores,
        "exchange": exchange,
        "iis_bindings": [_binding_dict(b) for b in snapshot.iis_bindings],
        "http_sys_bindings": [_http_sys_dict(b) for b in snapshot.http_sys_bindings],
    }
    if snapshot.host.account_sid is not None:
        result["host"]["logon"] = {"user_sid": snapshot.host.account_sid}
    if system is not None:
        result["host"]["folders"] = system
        result["backup_folder"] = backup
    return result


def _http_sys_dict(b: HttpSysBinding) -> dict:
    return {"endpoint": b.endpoint, "thumbprint": b.thumbprint, "store": b.store}


def _hybrid_dict(h: HybridConfiguration | None) -> dict | None:
    """The hybrid configuration as the agent reports it (the same shape in facts and read results)."""
    if h is None:
        return None
    return {
        "tls_certificate_name": h.tls_certificate_name,
        "sending_transport_servers": list(h.sending_transport_servers),
        "receiving_transport_servers": list(h.receiving_transport_servers),
        "edge_transport_servers": list(h.edge_transport_servers),
    }


def _binding_dict(b: IisBinding) -> dict:
    """An IIS binding as the agent reports it (the same shape in facts and read results)."""
    return {
        "site": b.site,
        "binding": b.binding,
        "port": b.port,
        "host_header": b.host_header,
        "thumbprint": b.thumbprint,
        "store": b.store,
    }


def _connector_facts(c: Connector) -> dict:
    facts: dict[str, Any] = {
        "kind": c.kind.value,
        "identity": c.identity,
        "name": c.name,
        "fqdn": c.fqdn,
        "tls_certificate_name": c.tls_certificate_name,
        "enabled": c.enabled,
    }
    # Where the connector's certificate is presented: the rollout checks every one of these servers
    # holds the new certificate before it repoints the connector.
    if c.kind is ConnectorKind.SEND:
        facts["source_transport_servers"] = list(c.source_transport_servers)
    else:
        facts["server"] = c.server
    return facts


def _connector_raw(c: Connector) -> dict:
    raw = dict(c.raw)
    raw.update(_connector_facts(c))
    raw.pop("kind", None)
    for key in ("server", "source_transport_servers"):
        if key not in c.raw:  # round-trip what the agent sent, without inventing fields
            raw.pop(key, None)
    return raw
