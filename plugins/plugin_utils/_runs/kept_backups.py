"""Backups kept on the controller: the files, and the per-host manifest that cert_restore reads.

The manifest is rewritten atomically (a temporary file renamed over it) under an
exclusive lock on a lock file beside it, so two runs sharing
``backup.local_directory`` both keep every entry and a failed write leaves the
previous manifest whole. Every error names the option and the path; one raised
after the server changed carries ``changed``, the applied steps and where each
backup is (the caller's ``result``).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import ModuleFailure
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.private_file import write_private_file
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.agent_calls import ApplyOutcome

MANIFEST = "manifest.json"
Entries = list[dict[str, Any]]


def read_manifest(path: Path, option: str) -> Entries:
    """The entries of a manifest; a corrupt one is an error that says how to recover, and is left as it is."""
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        reason = f"line {error.lineno}: {error.msg}" if isinstance(error, json.JSONDecodeError) else "not UTF-8"
        raise ModuleFailure(
            f"option {option}: the backup manifest '{path}' is not valid JSON ({reason}); it was left as it is. "
            "Repair it, or move it aside to start a new one: the backup files beside it (<thumbprint>.pfx or .cer) "
            "are intact, and the results of the runs that made them list each one's store and SHA-256"
        ) from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "thumbprint" in e for e in entries):
        raise ModuleFailure(
            f"option {option}: the backup manifest '{path}' is not a list of backup entries; it was left as it is. "
            "Repair it, or move it aside to start a new one"
        )
    return entries


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the host's manifest, held across its read-modify-write."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(folder / ".manifest.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def update_manifest(folder: Path, merge: Callable[[Entries], Entries], option: str) -> None:
    """Read the host's manifest, ``merge`` entries into it and write it back, under the host's lock."""
    path = folder / MANIFEST
    with _locked(folder):
        merged = merge(read_manifest(path, option))
        write_private_file(path, json.dumps(merged, indent=2, sort_keys=True).encode("utf-8"))


def replacing(entries: Entries) -> Callable[[Entries], Entries]:
    """A merge where ``entries`` replace any entry of the same certificate and store."""
    known = {(e["thumbprint"], e["store"]) for e in entries}
    return lambda existing: [e for e in existing if (e["thumbprint"], e["store"]) not in known] + entries


def adding_pending(entries: Entries) -> Callable[[Entries], Entries]:
    """A merge where pending entries are added but never hide a backup already kept."""

    def merge(existing: Entries) -> Entries:
        kept = {(e["thumbprint"], e["store"]) for e in existing}
        return existing + [e for e in entries if (e["thumbprint"], e["store"]) not in kept]

    return merge


def journal_pending_backups(steps: list[Step], host: str, local_directory: str | None) -> None:
    """Note every backup the apply is about to make, before it runs.

    If the connection drops after the server backed a certificate up and removed
    it, the answer carrying the backup's bytes never arrives and the next run has
    nothing left to back up. The pending entry (``pending: true``, no file yet)
    tells cert_restore to fetch the server's verified copy instead.
    """
    if not local_directory:
        return
    pending = [
        {
            "thumbprint": step.params["thumbprint"],
            "store": step.params.get("store", "My"),
            "remote_directory": step.params.get("directory"),
            "pending": True,
        }
        for step in steps
        if step.action == "backup"
    ]
    if not pending:
        return
    folder = Path(local_directory) / host
    try:
        update_manifest(folder, adding_pending(pending), "backup.local_directory")
    except OSError as error:
        raise ModuleFailure(
            f"option backup.local_directory: '{folder}' cannot be written ({error.strerror}); nothing was changed "
            f"on {host}",
            changed=False,
        ) from None


def _entry(step: dict[str, Any]) -> dict[str, Any]:
    data = step.get("data") or {}
    return {
        "thumbprint": step.get("thumbprint") or data.get("thumbprint_read_back"),
        "store": step.get("store", "My"),
        "kind": data.get("kind"),
        "remote_path": data.get("path"),
        "sha256": data.get("sha256"),
    }


def _checked_content(step: dict[str, Any], entry: dict[str, Any], host: str) -> bytes | None:
    content = (step.get("data") or {}).get("content_b64")
    if not content:
        return None
    raw = base64.b64decode(content)
    if hashlib.sha256(raw).hexdigest().upper() != str(entry["sha256"]).upper():
        raise ModuleFailure(
            f"the backup of {entry['thumbprint']} fetched from {host} does not match the SHA-256 the server "
            "reported; the server's own verified copy is at " + str(entry["remote_path"])
        )
    return raw


def keep_backups(
    outcome: ApplyOutcome,
    host: str,
    local_directory: str | None,
    result: dict[str, Any],
    option: str = "backup.local_directory",
) -> list[dict[str, Any]]:
    """Record every verified backup, and keep a checked copy on the controller when asked.

    ``result`` is what the task reports if keeping a copy fails: the server has already changed,
    so the failure carries it, with every backup and where it is (on the server, and the copies
    written so far).
    """
    entries = []
    folder = Path(local_directory) / host if local_directory else None
    try:
        for step in outcome.by_action("backup"):
            if not step.get("data"):
                continue  # a fetch for a certificate that never left the store: nothing to keep
            entry = _entry(step)
            entries.append(entry)
            raw = _checked_content(step, entry, host)
            if folder is not None and raw is not None:
                target = folder / f"{entry['thumbprint']}.{'pfx' if entry['kind'] == 'pfx' else 'cer'}"
                write_private_file(target, raw)
                entry["local_path"] = str(target)
        if folder is not None and entries:
            update_manifest(folder, replacing(entries), option)
    except (OSError, ModuleFailure) as error:
        raise _not_kept(error, option=option, host=host, folder=folder, entries=entries, result=result) from None
    return entries


def _not_kept(
    error: OSError | ModuleFailure,
    *,
    option: str,
    host: str,
    folder: Path | None,
    entries: Entries,
    result: dict[str, Any],
) -> ModuleFailure:
    on_server = ", ".join(str(e["remote_path"]) for e in entries if e.get("remote_path")) or "none"
    if isinstance(error, OSError):
        where = error.filename or folder
        reason = f"option {option}: '{where}' could not be written ({error.strerror})"
    else:
        reason = str(error)
    applied = sum(1 for step in result.get("applied") or () if step.get("status") == "changed")
    return ModuleFailure(
        f"{reason}. {host} has already changed ({applied} step(s) applied); the server's verified backups are "
        f"at: {on_server}",
        **{**result, "backups": entries},
    )
