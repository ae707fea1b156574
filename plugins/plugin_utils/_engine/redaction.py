"""Keep secrets out of everything the engine shows (findings, plans, diffs)."""

from __future__ import annotations

from typing import Any

SECRET_KEYS = frozenset({"password", "pfx_b64", "pfx_password", "backup_password"})
MASK = "********"
_BLOB_KEYS = frozenset({"der_b64", "content_b64"})
_BLOB_SHOWN = 32


def redact(value: Any) -> Any:
    """A deep copy with secret values masked and long DER blobs shortened."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in SECRET_KEYS:
                out[key] = MASK if item is not None else None
            elif key in _BLOB_KEYS and isinstance(item, str) and len(item) > _BLOB_SHOWN:
                out[key] = f"{item[:_BLOB_SHOWN]}... ({len(item)} characters)"
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
