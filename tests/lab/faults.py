"""Fault injection, read from ``<host>/faults.json`` (documented in docs/lab.md).

```json
{"refuse_auth": true, "drop_before_step": 2, "drop_after_step": 1, "stall_seconds": 40,
 "truncate_output": true, "malformed_output": true, "operation": "apply", "once": true,
 "after_shells": 2, "bind_before_apply": {"kind": "iis_binding", "thumbprint": "AB12..."}}
```

``bind_before_apply`` is an administrator acting between the controller's read
and its apply: when an ``apply`` request arrives, before its first step, the
certificate gets bound (``kind``: ``iis_binding`` adds the https binding
``*:8443:`` of Default Web Site, ``exchange_services`` enables IMAP on it,
``internal_transport`` makes it the internal transport certificate,
``http_sys_binding`` binds it in http.sys to ``0.0.0.0:5986`` as a WinRM HTTPS
listener does, outside any IIS site).

``folder_before_apply`` is someone acting on the backup folder between the
controller's read and its apply: ``{"kind": "created", "path": "C:\\x"}`` makes
the folder (a domain user's, inheriting its parent's rules), ``{"kind":
"widened", "path": ...}`` adds an allow rule for BUILTIN\\Users (read) to it, ``{"kind":
"junction", "path": ...}`` turns that folder (give one above the backup folder) into a
junction, as ``New-Item -ItemType Junction`` or ``mklink /J`` would.

``operation`` (optional) limits the agent faults to requests of that operation;
``once`` clears the whole file after the first fault fires, so a rerun converges;
``after_shells`` keeps every fault (``refuse_auth`` included) asleep until the
host has closed that many WinRM shells (``delete`` lines of its ``requests.log``;
ansible's winrm connection opens one shell per task and deletes it when the task
ends), so a fault can strike in the middle of a run: after a rollout's two
preflight reads, say.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lab import folders
from tests.lab.state import HostState, read_json

_FIRE_LOCK = threading.Lock()
_DELETE_LINE = json.dumps({"action": "delete"})[1:-1]  # '"action": "delete"', as the log writes it


def shells_closed(host_dir: Path) -> int:
    """How many shells the host has deleted so far (``delete`` lines of its request log)."""
    log = host_dir / "requests.log"
    try:
        lines = log.read_text(encoding="ascii").splitlines()
    except OSError:
        return 0
    # A substring test, not json.loads: the server may be appending the last line right now.
    return sum(1 for line in lines if _DELETE_LINE in line)


@dataclass(frozen=True)
class Faults:
    path: Path
    raw: dict[str, Any]

    @classmethod
    def load(cls, host_dir: Path) -> Faults:
        path = host_dir / "faults.json"
        raw = read_json(path, {}) or {}
        armed_after = raw.get("after_shells")
        if armed_after and shells_closed(host_dir) < int(armed_after):
            raw = {}  # not armed yet: the host behaves normally
        return cls(path, raw)

    def applies_to(self, operation: str | None) -> bool:
        wanted = self.raw.get("operation")
        return wanted is None or wanted == operation

    def get(self, name: str, operation: str | None = None) -> Any:
        if not self.applies_to(operation):
            return None
        return self.raw.get(name)

    def fired(self) -> None:
        """Called when a fault takes effect: a ``once`` fault file is removed."""
        if self.raw.get("once"):
            with _FIRE_LOCK:
                self.path.unlink(missing_ok=True)


def bind_before_apply(host: HostState, spec: dict[str, Any]) -> None:
    """Bind a certificate the way an administrator would, between the controller's read and its apply."""
    kind, thumb = str(spec["kind"]), str(spec["thumbprint"]).upper()
    with host.lock:
        if kind == "iis_binding":
            binding = {"site": "Default Web Site", "binding": "*:8443:", "port": 8443, "host_header": ""}
            host.write_iis_bindings([*host.iis_bindings(), {**binding, "thumbprint": thumb, "store": "My"}])
        elif kind == "exchange_services":
            table = host.exchange_certificates()
            entry = table.setdefault(thumb, {"services": []})
            entry["services"] = [*entry.get("services", []), "IMAP"]
            host.write_exchange_certificates(table)
        elif kind == "http_sys_binding":  # netsh http add sslcert ipport=0.0.0.0:5986 certhash=...
            entry = {"endpoint": "0.0.0.0:5986", "thumbprint": thumb, "store": "MY"}
            host.write_http_sys_bindings([*host.http_sys_bindings(), entry])
        elif kind == "internal_transport":
            host.write_transport({**host.transport(), "internal_transport_certificate_thumbprint": thumb})
        else:
            raise ValueError(f"bind_before_apply: unknown kind {kind!r}")


def folder_before_apply(host: HostState, spec: dict[str, Any]) -> None:
    """Create or widen the backup folder the way someone else would, between the controller's read and its apply."""
    kind, path = str(spec["kind"]), str(spec["path"])
    with host.lock:
        if kind == "created":
            folders.new_directory(host, path, owner=folders.SOMEONE)
        elif kind == "widened":
            folders.add_allow_rule(host, path, folders.USERS, "ReadAndExecute, Synchronize")
        elif kind == "junction":
            folders.make_junction(host, path)
        else:
            raise ValueError(f"folder_before_apply: unknown kind {kind!r}")
