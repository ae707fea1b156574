"""Fault injection, read from ``<host>/faults.json`` (documented in docs/lab.md).

```json
{"refuse_auth": true, "drop_before_step": 2, "drop_after_step": 1, "stall_seconds": 40,
 "truncate_output": true, "malformed_output": true, "operation": "apply", "once": true}
```

``operation`` (optional) limits the agent faults to requests of that operation;
``once`` clears the whole file after the first fault fires, so a rerun converges.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lab.state import read_json

_FIRE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Faults:
    path: Path
    raw: dict[str, Any]

    @classmethod
    def load(cls, host_dir: Path) -> Faults:
        path = host_dir / "faults.json"
        return cls(path, read_json(path, {}) or {})

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
