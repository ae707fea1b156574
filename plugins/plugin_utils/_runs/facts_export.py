"""cert_facts ``save_to``: what one server's read returned, saved on the controller for a twin of production.

The read holds public certificates, stores, Exchange's view of them, connectors,
hybrid configuration, transport service and IIS bindings: the agent never
returns a private key, so neither does this file. ``python -m tests.lab twin``
builds a lab from a folder of them (docs/rollout.md, "Rehearse on a twin").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.private_file import write_private_file

FORMAT = "certwarden.exchange.cert_facts/1"


def save_read(folder: str, host: str, read: dict[str, Any], saved_utc: str) -> str:
    """Write ``<folder>/<host>.json`` atomically; returns its path."""
    target_dir = Path(folder).expanduser()
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"option save_to: cannot create {str(target_dir)!r}: {exc.strerror or exc}") from None
    if "/" in host or host in ("", ".", ".."):
        raise InputError(f"option save_to: the inventory name {host!r} cannot name a file")
    document = {"format": FORMAT, "inventory_hostname": host, "saved_utc": saved_utc, "read": read}
    path = target_dir / f"{host}.json"
    write_private_file(path, json.dumps(document, indent=1, sort_keys=True).encode("utf-8"))
    return str(path)
