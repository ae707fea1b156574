"""The agent calls a module makes, as the engine's types: read a snapshot, apply steps (and read again).

Kept apart from the action plugins so that each plugin stays thin and every
module counts its WinRM commands the same way (one per call here, except the
fallback read of ``read_after_apply``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import run_agent


class StepFailed(Exception):
    """The agent stopped at a failed step; ``details`` is the caller's result so far, kept with the failure."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details


def read_snapshot(connection: Any, host: str, *, backup_directory: str | None = None) -> Snapshot:
    """One ``read`` round trip, parsed (a malformed answer names the field).

    With ``backup_directory`` the read also reports that folder's facts (exists, ACL) for the engine to judge.
    """
    options = {"backup_directory": backup_directory} if backup_directory else {}
    return Snapshot.from_read_result(run_agent(connection, host, "read", options))


@dataclass(frozen=True)
class ApplyOutcome:
    results: list[dict[str, Any]]
    failed_step: dict[str, Any] | None
    # The agent's fresh read after the steps (``apply_steps(read_after=True)``), unparsed: parsing it
    # waits until the steps' backups are kept, so that a malformed read cannot lose them.
    after: dict[str, Any] | None = None

    @property
    def changed(self) -> bool:
        return any(r.get("status") == "changed" for r in self.results)

    def by_action(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.results if r.get("action") == action and r.get("status") in ("changed", "unchanged")]


def apply_steps(
    connection: Any,
    host: str,
    steps: Sequence[Step],
    *,
    read_after: bool = False,
    backup_directory: str | None = None,
) -> ApplyOutcome:
    """One ``apply`` round trip carrying every step; the agent stops at the first failure.

    With ``read_after`` the agent then reads the whole server again in the same
    invocation (one PowerShell start, one Exchange load), whatever the steps did;
    ``backup_directory`` is the folder that read reports on, as ``read_snapshot``'s.
    """
    options: dict[str, Any] = {"steps": [s.to_request() for s in steps]}
    if read_after:
        options["read_after"] = True
        if backup_directory:
            options["backup_directory"] = backup_directory
    result = run_agent(connection, host, "apply", options)
    results = list(result.get("results") or [])
    failed = next((r for r in results if r.get("status") == "failed"), None)
    after = result.get("after") if read_after else None
    return ApplyOutcome(results=results, failed_step=failed, after=after if isinstance(after, dict) else None)


def read_after_apply(
    connection: Any, host: str, outcome: ApplyOutcome, *, backup_directory: str | None = None
) -> Snapshot:
    """The server as it is after an apply: the agent's own fresh read, or a ``read`` of its own.

    The agent's read is a read like any other (the same code, run after the
    steps), not a summary of what the steps reported. When it failed (the answer
    has ``after_error`` and no ``after``), one more command reads the server.
    """
    if outcome.after is not None:
        return Snapshot.from_read_result(outcome.after)
    return read_snapshot(connection, host, backup_directory=backup_directory)


def public_results(outcome: ApplyOutcome) -> list[dict[str, Any]]:
    """Step results for the task result: backup file contents stay out of it."""
    shown = []
    for item in outcome.results:
        data = {k: v for k, v in (item.get("data") or {}).items() if k != "content_b64"}
        shown.append({**item, "data": data})
    return shown


def fail_on_step(outcome: ApplyOutcome, host: str, details: dict[str, Any]) -> None:
    """Raise when a step failed: the steps before it were applied, the rest not run."""
    step = outcome.failed_step
    if step is None:
        return
    done = sum(1 for r in outcome.results if r.get("status") in ("changed", "unchanged"))
    raise StepFailed(
        f"step {step.get('id')} ({step.get('action')}) failed on {host}: {step.get('message') or 'no message'}. "
        f"The {done} step(s) before it were applied and the server is no worse than before; "
        "fix the cause and run again to converge.",
        details,
    )
