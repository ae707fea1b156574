"""The agent calls a module makes, as the engine's types: read a snapshot, apply steps.

Kept apart from the action plugins so that each plugin stays thin and every
module counts its WinRM commands the same way (one per call here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import ModuleFailure
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import run_agent


def read_snapshot(connection: Any, host: str) -> Snapshot:
    """One ``read`` round trip, parsed (a malformed answer names the field)."""
    return Snapshot.from_read_result(run_agent(connection, host, "read", {}))


@dataclass(frozen=True)
class ApplyOutcome:
    results: list[dict[str, Any]]
    failed_step: dict[str, Any] | None

    @property
    def changed(self) -> bool:
        return any(r.get("status") == "changed" for r in self.results)

    def by_action(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.results if r.get("action") == action and r.get("status") in ("changed", "unchanged")]


def apply_steps(connection: Any, host: str, steps: Sequence[Step]) -> ApplyOutcome:
    """One ``apply`` round trip carrying every step; the agent stops at the first failure."""
    result = run_agent(connection, host, "apply", {"steps": [s.to_request() for s in steps]})
    results = list(result.get("results") or [])
    failed = next((r for r in results if r.get("status") == "failed"), None)
    return ApplyOutcome(results=results, failed_step=failed)


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
    raise ModuleFailure(
        f"step {step.get('id')} ({step.get('action')}) failed on {host}: {step.get('message') or 'no message'}. "
        f"The {done} step(s) before it were applied and the server is no worse than before; "
        "fix the cause and run again to converge.",
        **details,
    )
