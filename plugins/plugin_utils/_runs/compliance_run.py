"""One cert_compliance run: read -> analyse -> plan -> (apply and read again -> verify).

The data flows one way and the WinRM commands are counted: check mode costs
one ``read``; apply costs ``read`` + one ``apply`` that carries the whole plan
and then reads the server again in the same invocation. The verification
analyses that fresh read on the controller, as it would a separate ``read``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import Analysis, analyse
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.diff_view import state_diff
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.restarts import restart_needed
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import ModuleFailure
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.channel import guard_secrets
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.kept_backups import (
    journal_pending_backups,
    keep_backups,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.restart_plan import (
    plan_restarts,
    presentation,
    with_restarts,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.staged_check import staged_findings
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.agent_calls import (
    apply_steps,
    fail_on_step,
    public_results,
    read_after_apply,
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
    channel: tuple[str | None, str] = (None, "warn"),
    restart_services: str = "never",
) -> dict[str, Any]:
    """``channel``: why the connection would expose secrets (None: it would not), and the policy (warn | fail)."""
    folder = desired.backup_directory if desired is not None else None
    before = read_snapshot(connection, host, backup_directory=folder)
    now = clock()
    analysis = analyse(before, desired, now)
    result = _report(before, analysis, now)
    if staged:
        add_staged_findings(result, staged_findings(before, desired, staged, now))
    if analysis.blockers:
        raise _blocked(analysis, host, result)
    restarts = plan_restarts(restart_services, before, analysis.plan, now)
    plan = [*analysis.plan, *restarts.steps]
    result["plan"] = result["plan"] + [step.to_display() for step in restarts.steps]
    result["presentation"] = presentation(before, now)
    if not plan:
        if not check_mode and not analysis.compliant:
            raise _unfixable(analysis.to_dict()["findings"], host, {**result, "changed": False})
        return {**result, "changed": False}
    if check_mode:
        if diff_mode:
            result["diff"] = with_restarts(state_diff(before, apply_plan(before, plan), host), restarts.steps)
        return {**result, "changed": True}

    guard_secrets(plan, host, *channel, result)
    journal_pending_backups(plan, host, local_backup_directory)
    outcome = apply_steps(connection, host, plan, read_after=True, backup_directory=folder)
    result["applied"] = public_results(outcome)
    result["changed"] = outcome.changed
    result["backups"] = keep_backups(outcome, host, local_backup_directory, result)
    fail_on_step(outcome, host, result)

    after = read_after_apply(connection, host, outcome, backup_directory=folder)
    verified = analyse(after, desired, clock())
    result["findings_after"] = verified.to_dict()["findings"]
    result["compliant"] = verified.compliant
    result["certificates"] = certificate_summary(after, now)
    result["presentation"] = presentation(after, now)
    if diff_mode:
        result["diff"] = with_restarts(state_diff(before, after, host), restarts.steps)
    if not verified.compliant:
        raise _unfixable(result["findings_after"], host, result)
    if restarts.pending and outcome.changed:
        # The store is right; the wire follows only when the services restart (the probes then say
        # restart_pending). A warning: the apply itself did what it was asked.
        result["findings_after"].append(restart_needed(restarts.pending, host).to_dict())
    return result
