"""One cert_restore run: verify the controller's backups, read the host, put back what is missing."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import parse_certificate
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.diff_view import state_diff
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import ModuleFailure
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.channel import SecretsChannel
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.kept_backups import (
    MANIFEST,
    keep_backups,
    read_manifest,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.agent_calls import (
    apply_steps,
    fail_on_step,
    public_results,
    read_after_apply,
    read_snapshot,
)


@dataclass(frozen=True)
class Backup:
    thumbprint: str
    store: str
    kind: str
    content: bytes


def _certificate_der(backup_file: Path, kind: str, content: bytes, password: str | None) -> bytes:
    if kind == "der":
        return content
    try:
        _key, cert, _extra = pkcs12.load_key_and_certificates(content, password.encode("utf-8") if password else None)
    except ValueError:
        raise ModuleFailure(
            f"option password: the PFX backup '{backup_file}' cannot be opened with it; give the password "
            "cert_compliance's backup.password had"
        ) from None
    if cert is None:
        raise ModuleFailure(f"option src: the PFX backup '{backup_file}' holds no certificate")
    return cert.public_bytes(serialization.Encoding.DER)


def fetch_pending_backups(connection: Any, host: str, src: str, password: str | None, channel: SecretsChannel) -> None:
    """Fetch the server's copy of every backup the manifest lists as pending.

    A pending entry is a backup an apply was about to make when its answer was
    lost (docs/reliability.md). The ``backup`` step hands back the verified
    file even when the certificate has left the store; the copy is checked and
    kept like any other backup. A backup the server does not have is reported,
    not guessed at.
    """
    pending = [e for e in read_manifest(Path(src) / host / MANIFEST, "src") if e.get("pending")]
    if not pending:
        return
    steps = [
        Step(
            index,
            "backup",
            {
                "thumbprint": entry["thumbprint"],
                "store": entry["store"],
                "directory": entry.get("remote_directory") or DesiredState.backup_directory,
                "password": password,
                # Hand back a verified backup only: a restore writes nothing into the folder.
                "folder": "fetch",
            },
            f"fetch the server's backup of {entry['thumbprint']}",
        )
        for index, entry in enumerate(pending, start=1)
    ]
    channel.before_apply(steps, {})
    outcome = apply_steps(connection, host, steps)
    keep_backups(outcome, host, src, {"changed": outcome.changed}, option="src")
    failed = outcome.failed_step
    if failed is not None:
        thumbprint = steps[int(failed.get("id") or 1) - 1].params["thumbprint"]
        raise ModuleFailure(
            f"option src: the manifest for {host} lists a backup of {thumbprint} that an interrupted run was "
            f"making, and the server could not hand it back: {failed.get('message')}"
        )


def nothing_to_restore(src: str, host: str, wanted: set[str]) -> dict[str, Any] | None:
    """The result for a host that has no backups at all, or None when it has some (or the folder is wrong).

    A fleet-wide restore meets servers that cert_compliance never removed anything from: for them there is
    nothing to do, which is not a failure. A missing ``src`` is (a mistyped folder), and so is naming
    thumbprints for a host without backups.
    """
    if not Path(src).is_dir():
        raise ModuleFailure(f"option src: '{src}' is not a folder on the controller")
    if (Path(src) / host / "manifest.json").is_file() or wanted:
        return None
    return {
        "changed": False,
        "restored": [],
        "already_present": [],
        "msg": f"nothing to restore on {host}: '{src}' holds no backups for it",
    }


def load_backups(src: str, host: str, wanted: set[str], password: str | None) -> list[Backup]:
    """The host's backups, each checked against its recorded SHA-256 and thumbprint."""
    folder = Path(src) / host
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise ModuleFailure(
            f"option thumbprints: no backup of {', '.join(sorted(wanted))} for {host} in '{src}' (no {manifest})"
        )
    # Pending entries (a backup an interrupted run was making) have no file until fetched.
    entries = [e for e in read_manifest(manifest, "src") if not e.get("pending")]
    known = {e["thumbprint"] for e in entries}
    unknown = sorted(wanted - known)
    if unknown:
        raise ModuleFailure(f"option thumbprints: no backup of {', '.join(unknown)} for {host} in '{src}'")
    backups = []
    for entry in sorted(entries, key=lambda e: (e["store"], e["thumbprint"])):
        if wanted and entry["thumbprint"] not in wanted:
            continue
        path = Path(
            entry.get("local_path") or folder / f"{entry['thumbprint']}.{'pfx' if entry['kind'] == 'pfx' else 'cer'}"
        )
        content = path.read_bytes()
        if hashlib.sha256(content).hexdigest().upper() != str(entry["sha256"]).upper():
            raise ModuleFailure(
                f"option src: the backup '{path}' does not match its recorded SHA-256; not restoring it"
            )
        der = _certificate_der(path, entry["kind"], content, password)
        if parse_certificate(der).thumbprint != entry["thumbprint"]:
            raise ModuleFailure(f"option src: the backup '{path}' does not hold {entry['thumbprint']}")
        backups.append(Backup(entry["thumbprint"], entry["store"], entry["kind"], content))
    return backups


def restore_step(index: int, backup: Backup, password: str | None) -> Step:
    encoded = base64.b64encode(backup.content).decode("ascii")
    if backup.kind == "pfx" and backup.store == "My":
        params: dict[str, Any] = {"thumbprint": backup.thumbprint, "pfx_b64": encoded, "password": password}
        return Step(index, "import_pfx", params, f"restore {backup.thumbprint} with its private key")
    der = _certificate_der(Path(backup.thumbprint), backup.kind, backup.content, password)
    params = {"thumbprint": backup.thumbprint, "store": backup.store, "der_b64": base64.b64encode(der).decode("ascii")}
    return Step(index, "import_certificate", params, f"restore {backup.thumbprint} (public certificate only)")


def run_restore(
    connection: Any,
    host: str,
    params: dict[str, Any],
    thumbprints: set[str],
    *,
    check_mode: bool,
    diff_mode: bool,
    risk: str | None = None,
) -> dict[str, Any]:
    """``risk``: why the connection would expose secrets (None: it would not); ``insecure_channel`` decides."""
    password = params.get("password")
    channel = SecretsChannel(host, risk, params.get("insecure_channel") or "warn")
    if not check_mode:  # fetching is an apply round trip; check mode stays a read
        fetch_pending_backups(connection, host, params["src"], password, channel)
    nothing = nothing_to_restore(params["src"], host, thumbprints)
    if nothing is not None:
        channel.warn(nothing)
        return nothing
    backups = load_backups(params["src"], host, thumbprints, password)
    before = read_snapshot(connection, host)
    missing = [b for b in backups if before.find(b.thumbprint, b.store) is None]
    result: dict[str, Any] = {
        "restored": [{"thumbprint": b.thumbprint, "store": b.store, "kind": b.kind} for b in missing],
        "already_present": [b.thumbprint for b in backups if b not in missing],
        "changed": bool(missing),
    }
    steps = [restore_step(i, b, password) for i, b in enumerate(missing, start=1)]
    if not steps:
        channel.warn(result)  # the fetch of an interrupted backup may have carried the backup password
        return result
    if check_mode:
        if diff_mode:
            result["diff"] = state_diff(before, apply_plan(before, steps), host)
        return result
    channel.before_apply(steps, result)
    outcome = apply_steps(connection, host, steps, read_after=diff_mode)
    channel.warn(result)
    result["applied"] = public_results(outcome)
    fail_on_step(outcome, host, result)
    if diff_mode:
        result["diff"] = state_diff(before, read_after_apply(connection, host, outcome), host)
    return result
