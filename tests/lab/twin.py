"""A twin of production: host folders rebuilt from what ``cert_facts`` saved (``save_to``) on real servers.

Each saved file is one server's read, exactly as the agent returned it: public
certificates per store, Exchange's view of them, connectors, hybrid
configuration, transport service and IIS bindings, and never a private key. A
copy that had a key on the server gets a generated key here, marked as a
stand-in in its ``.json`` (``stand_in_key: true``): it makes the copy count as
having a key for everything the engine decides, but it is not the server's key,
so the twin's listeners cannot present that certificate (the probes of a
rehearsal say so; the plan does not depend on them).

Connectors and the hybrid configuration are organisation-wide: servers that
read the same ones share an organisation.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.lab.state import HostState, write_json
from tests.support.pki import key_for

ORG = "twin"
_COMPUTED_STATUSES = ("Valid", "DateInvalid", "Untrusted")  # what the lab derives itself from its stores


class TwinError(ValueError):
    """The facts folder cannot be turned into a lab; the message names the file."""


def _load(path: Path) -> dict[str, Any]:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TwinError(f"{path}: not a cert_facts save_to file ({exc})") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("read"), dict):
        raise TwinError(f"{path}: not a cert_facts save_to file (no 'read' object)")
    return saved


def _stand_in_key() -> bytes:
    # One generated key for every stand-in: generating 2048-bit keys is the slow part of a big twin.
    return key_for("twin-stand-in").private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_stores(host: HostState, stores: dict[str, list[dict[str, Any]]]) -> None:
    for store, entries in stores.items():
        host.store_dir(store).mkdir(parents=True, exist_ok=True)
        for entry in entries:
            cert = x509.load_der_x509_certificate(base64.b64decode(entry["der_b64"]))
            key = _stand_in_key() if entry.get("has_private_key") else None
            cer = host.add_certificate(
                store, cert, key, entry.get("friendly_name") or "", bool(entry.get("private_key_exportable"))
            )
            if key is not None:
                meta = json.loads(cer.with_suffix(".json").read_text())
                write_json(cer.with_suffix(".json"), {**meta, "stand_in_key": True})


def _write_exchange(host: HostState, exchange: dict[str, Any]) -> None:
    table = {}
    for entry in exchange.get("certificates") or []:
        record: dict[str, Any] = {"services": list(entry.get("services") or [])}
        if entry.get("status") and entry["status"] not in _COMPUTED_STATUSES:
            record["status"] = entry["status"]  # e.g. Revoked: the lab cannot derive it
        table[entry["thumbprint"]] = record
    host.write_exchange_certificates(table)
    host.write_transport(dict(exchange.get("transport_service") or {}))


def _write_host(lab_dir: Path, name: str, read: dict[str, Any], org: str) -> None:
    info = read.get("host") or {}
    exchange = read.get("exchange")
    host_dir = lab_dir / "hosts" / name
    write_json(
        host_dir / "host.json",
        {
            "computer_name": info.get("computer_name") or name.upper(),
            "fqdn": info.get("fqdn") or name,
            "org": org,
            "exchange": exchange is not None,
            "exchange_version": (exchange or {}).get("version", "15.2.1544.4"),
            "os": info.get("os", "Windows Server 2019"),
        },
    )
    host = HostState(host_dir)
    _write_stores(host, read.get("stores") or {})
    if exchange is not None:
        _write_exchange(host, exchange)
    host.write_iis_bindings(list(read.get("iis_bindings") or []))
    for folder in ("logs/SmtpSend", "logs/SmtpReceive", "filesystem/C"):
        (host_dir / folder).mkdir(parents=True, exist_ok=True)


def build_twin_folders(facts_dir: Path, out_dir: Path) -> list[str]:
    """Write ``out_dir/hosts/<name>/`` and ``out_dir/orgs/<org>/`` from every ``<name>.json`` in ``facts_dir``.

    Servers that read the same send connectors and hybrid configuration share an organisation
    (``twin``, ``twin-2``, ...), as they did in Active Directory.
    """
    files = sorted(facts_dir.glob("*.json"))
    if not files:
        raise TwinError(f"{facts_dir} holds no <server>.json written by cert_facts save_to")
    orgs: dict[str, dict[str, Any]] = {}
    names = []
    for path in files:
        saved = _load(path)
        name = str(saved.get("inventory_hostname") or path.stem)
        exchange = saved["read"].get("exchange") or {}
        shared = [exchange.get("send_connectors") or [], exchange.get("hybrid_configuration")]
        key = json.dumps(shared, sort_keys=True)
        org = orgs.setdefault(
            key, {"name": ORG if not orgs else f"{ORG}-{len(orgs) + 1}", "shared": shared, "receive": []}
        )
        _write_host(out_dir, name, saved["read"], org["name"])
        org["receive"] += exchange.get("receive_connectors") or []
        names.append(name)
    for org in orgs.values():
        org_dir = out_dir / "orgs" / org["name"]
        write_json(org_dir / "send_connectors.json", org["shared"][0])
        write_json(org_dir / "receive_connectors.json", org["receive"])
        if org["shared"][1] is not None:
            write_json(org_dir / "hybrid.json", org["shared"][1])
    return names
