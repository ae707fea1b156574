"""One cert_compliance run: read -> analyse -> plan -> (apply -> verify).

The data flows one way and the WinRM commands are counted: check mode costs
one ``read``; apply costs ``read`` + ``apply`` (the whole plan) + ``read``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import Analysis, analyse
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.diff_view import state_diff
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import ModuleFailure
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.controller_files import write_private_file
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.staged_check import staged_findings
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.agent_calls import (
    ApplyOutcome,
    apply_steps,
    fail_on_step,
    public_results,
    read_snapshot,
)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def certificate_summary(snapshot: Snapshot, now: dt.datetime) -> list[dict[str, Any]]:
    """What a report needs about each certificate in My: who, until when, for what."""
    exchange = snapshot.exchange
    summary = []
    for item in sorted(snapshot.store("My"), key=lambda i: i.thumbprint):
        cert = item.certificate
        summary.append(
            {
                "thumbprint": item.thumbprint,
                "subject": item.subject_str,
                "issuer": item.issuer_str,
                "not_after": cert.not_after.isoformat(),
                "days_to_expiry": (cert.not_after - now).days,
                "has_private_key": item.has_private_key,
                "services": list(exchange.services_of(item.thumbprint)) if exchange else [],
            }
        )
    return summary


def _report(snapshot: Snapshot, analysis: Analysis, now: dt.datetime) -> dict[str, Any]:
    shown = analysis.to_dict()
    return {
        "compliant": analysis.compliant,
        "findings": shown["findings"],
        "plan": shown["plan"],
        "host": {"computer_name": snapshot.host.computer_name, "fqdn": snapshot.host.fqdn},
        "certificates": certificate_summary(snapshot, now),
    }


def add_staged_findings(result: dict[str, Any], found: list[dict[str, Any]]) -> None:
    """Findings about staged certificates join the first read's findings (never the plan)."""
    known = {(f["code"], f["message"]) for f in result["findings"]}
    result["findings"] += [f for f in found if (f["code"], f["message"]) not in known]
    result["compliant"] = result["compliant"] and not any(f["severity"] == "error" for f in found)


def _blocked(analysis: Analysis, host: str, result: dict[str, Any]) -> ModuleFailure:
    reasons = "; ".join(f"{f.code}: {f.message}" for f in analysis.blockers)
    return ModuleFailure(
        f"nothing was changed on {host} because only a person can resolve this: {reasons}",
        changed=False,
        **result,
    )


def _unfixable(findings: list[dict[str, Any]], host: str, result: dict[str, Any]) -> ModuleFailure:
    """The host is not compliant and no step of the plan can change that: say what is left."""
    remaining = "; ".join(f"{f['code']}: {f['message']}" for f in findings if f["severity"] == "error")
    return ModuleFailure(
        f"{host} is not compliant and the declared state has nothing more to apply: {remaining}", **result
    )


def keep_backups(
    outcome: ApplyOutcome, host: str, local_directory: str | None, result: dict[str, Any]
) -> list[dict[str, Any]]:
    """Record every verified backup, and keep a checked copy on the controller when asked.

    ``result`` is what the task reports if the copy fails: the server has already changed.
    """
    backups = []
    for step in outcome.by_action("backup"):
        data = step.get("data") or {}
        entry = {
            "thumbprint": step.get("thumbprint") or data.get("thumbprint_read_back"),
            "store": step.get("store", "My"),
            "kind": data.get("kind"),
            "remote_path": data.get("path"),
            "sha256": data.get("sha256"),
        }
        content = data.get("content_b64")
        if local_directory and content:
            raw = base64.b64decode(content)
            if hashlib.sha256(raw).hexdigest().upper() != str(data.get("sha256")).upper():
                raise ModuleFailure(
                    f"the backup of {entry['thumbprint']} fetched from {host} does not match the SHA-256 the server "
                    "reported; the server's own verified copy is at " + str(entry["remote_path"]),
                    **result,
                )
            suffix = "pfx" if entry["kind"] == "pfx" else "cer"
            target = Path(local_directory) / host / f"{entry['thumbprint']}.{suffix}"
            write_private_file(target, raw)
            entry["local_path"] = str(target)
        backups.append(entry)
    if local_directory and backups:
        _write_manifest(Path(local_directory) / host, backups)
    return backups


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
    if pending:
        _write_manifest(Path(local_directory) / host, pending, replace=False)


def _write_manifest(folder: Path, backups: list[dict[str, Any]], replace: bool = True) -> None:
    """Append to the host's manifest so that cert_restore knows store, kind and checksum."""
    manifest_path = folder / "manifest.json"
    existing: list[dict[str, Any]] = []
    if manifest_path.exists():
        existing = json.loads(manifest_path.read_text(encoding="utf-8"))
    if replace:
        known = {(e["thumbprint"], e["store"]) for e in backups}
        merged = [e for e in existing if (e["thumbprint"], e["store"]) not in known] + backups
    else:  # pending entries never hide a backup already kept
        kept = {(e["thumbprint"], e["store"]) for e in existing}
        merged = existing + [e for e in backups if (e["thumbprint"], e["store"]) not in kept]
    write_private_file(manifest_path, json.dumps(merged, indent=2, sort_keys=True).encode("utf-8"))


def run_compliance(
    connection: Any,
    host: str,
    desired: DesiredState | None,
    *,
    check_mode: bool,
    diff_mode: bool,
    local_backup_directory: str | None,
    clock: Clock = utc_now,
    staged: tuple[str, ...] = (),
) -> dict[str, Any]:
    before = read_snapshot(connection, host)
    now = clock()
    analysis = analyse(before, desired, now)
    result = _report(before, analysis, now)
    if staged:
        add_staged_findings(result, staged_findings(before, desired, staged, now))
    if analysis.blockers:
        raise _blocked(analysis, host, result)
    if not analysis.plan:
        if not check_mode and not analysis.compliant:
            raise _unfixable(analysis.to_dict()["findings"], host, {**result, "changed": False})
        return {**result, "changed": False}
    if check_mode:
        if diff_mode:
            result["diff"] = state_diff(before, apply_plan(before, analysis.plan), host)
        return {**result, "changed": True}

    journal_pending_backups(analysis.plan, host, local_backup_directory)
    outcome = apply_steps(connection, host, analysis.plan)
    result["applied"] = public_results(outcome)
    result["changed"] = outcome.changed
    result["backups"] = keep_backups(outcome, host, local_backup_directory, result)
    fail_on_step(outcome, host, result)

    after = read_snapshot(connection, host)
    verified = analyse(after, desired, clock())
    result["findings_after"] = verified.to_dict()["findings"]
    result["compliant"] = verified.compliant
    result["certificates"] = certificate_summary(after, now)
    if diff_mode:
        result["diff"] = state_diff(before, after, host)
    if not verified.compliant:
        raise _unfixable(result["findings_after"], host, result)
    return result
