"""A lab from host folders a user wrote in the documented format (docs/lab.md, "The folder").

The source holds ``hosts/<name>/`` (``host.json``, ``stores/``, ``exchange/``,
``iis/``) and ``orgs/<org>/`` (connector files, ``hybrid.json``), any number of
hosts in any organisations. The source is copied, never changed; the lab's own
files (``lab.json``, ``scenario.json``) are written from what the folders say.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.lab.scenarios import LAB_PASSWORD, PFX_PASSWORD, USER
from tests.lab.state import HostState, read_json, write_bytes_atomic, write_json


class FolderError(ValueError):
    """The folders are not in the documented format; the message names the file and what is wrong."""


def _host_info(host_dir: Path) -> dict[str, Any]:
    path = host_dir / "host.json"
    try:
        info = read_json(path)
    except ValueError as exc:
        raise FolderError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(info, dict):
        raise FolderError(f"{path} is missing or not a JSON object (documented keys: computer_name, org, ...)")
    for key in ("computer_name", "org"):
        if not isinstance(info.get(key), str) or not info[key]:
            raise FolderError(f"{path}: '{key}' must be a non-empty string")
    info.setdefault("fqdn", f"{info['computer_name'].lower()}.contoso.com")
    info.setdefault("exchange", True)
    info.setdefault("auth", {"user": USER, "password": LAB_PASSWORD})
    # Served over HTTP: Basic there means the admin set AllowUnencrypted = true (docs/lab.md).
    info["auth"].setdefault("allow_unencrypted", "basic" in (info["auth"].get("mechanisms") or ["basic"]))
    info["scheme"] = "http"
    info["port"] = 0
    return info


def _write_trust(lab_dir: Path, names: list[str]) -> None:
    """pki/chain.pem (every host's CA store) and pki/probe-trust.pem (those plus every Root/AuthRoot) for the probes."""
    seen: dict[str, bytes] = {}
    chain: dict[str, bytes] = {}
    for name in names:
        host = HostState(lab_dir / "hosts" / name)
        for store in ("CA", "Root", "AuthRoot"):
            for cert in host.certificates(store):
                pem = cert.cert.public_bytes(serialization.Encoding.PEM)
                seen[cert.thumbprint] = pem
                if store == "CA":
                    chain[cert.thumbprint] = pem
    write_bytes_atomic(lab_dir / "pki" / "chain.pem", b"".join(chain[t] for t in sorted(chain)))
    write_bytes_atomic(lab_dir / "pki" / "probe-trust.pem", b"".join(seen[t] for t in sorted(seen)))


def _service_fqdn(lab_dir: Path, first: dict[str, Any]) -> str:
    """The name the probes ask for: the first host's port-25 receive connector FQDN, else its own."""
    for connector in read_json(lab_dir / "orgs" / first["org"] / "receive_connectors.json", []) or []:
        mine = str(connector.get("server", "")).lower() == first["computer_name"].lower()
        if mine and connector.get("fqdn") and any(str(b).endswith(":25") for b in connector.get("bindings") or []):
            return str(connector["fqdn"])
    return str(first["fqdn"])


def import_folders(
    source: Path, lab_dir: Path, scenario: str = "from-folders", *, desired_state: bool = True
) -> dict[str, Any]:
    """Copy ``source``'s hosts and organisations into ``lab_dir`` and write lab.json and scenario.json.

    ``desired_state=False`` keeps the lab's desired-state defaults out of the inventory (a twin is
    layered under the production inventory, whose variables must win).
    """
    hosts_dir = source / "hosts"
    if not hosts_dir.is_dir():
        raise FolderError(f"{source} has no hosts/ folder: write hosts/<name>/host.json (see docs/lab.md)")
    names = sorted(p.name for p in hosts_dir.iterdir() if p.is_dir())
    if not names:
        raise FolderError(f"{hosts_dir} holds no host folder")
    for top in ("hosts", "orgs"):
        if (source / top).is_dir():
            shutil.copytree(source / top, lab_dir / top, ignore=shutil.ignore_patterns("requests.log", "faults.json"))
    records: dict[str, Any] = {}
    entries = []
    for name in names:
        host_dir = lab_dir / "hosts" / name
        info = _host_info(host_dir)
        write_json(host_dir / "host.json", info)
        (lab_dir / "orgs" / info["org"]).mkdir(parents=True, exist_ok=True)
        entries.append({"name": name, "org": info["org"], "port": 0, "scheme": "http"})
        records[name] = {
            "computer_name": info["computer_name"],
            "fqdn": info["fqdn"],
            "org": info["org"],
            "broken": None,
            # The certificate the inventory declares as intended: the user's choice, if written down.
            "intended": str(info.get("intended_thumbprint") or ""),
            "intended_label": None,
            "thumbprints": {},
        }
    record = {
        "scenario": scenario,
        "description": f"host folders from {source}",
        "pfx_password": PFX_PASSWORD,
        "service_fqdn": _service_fqdn(lab_dir, records[names[0]]),
        "desired_state": desired_state,
        "pki": {},
        "hosts": records,
    }
    _write_trust(lab_dir, names)
    write_json(lab_dir / "scenario.json", record)
    write_json(lab_dir / "lab.json", {"scenario": scenario, "pid": None, "hosts": entries})
    return record
