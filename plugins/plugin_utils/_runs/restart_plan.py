"""The restarts of one cert_compliance run: which the plan adds, and which the change needs but the mode leaves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.restarts import (
    planned_restarts,
    restart_steps,
    restarts_needed,
    stored_presentation,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step


@dataclass
class RestartPlan:
    steps: list[Step] = field(default_factory=list)  # restart_service steps, after every other step
    pending: dict[str, str] = field(default_factory=dict)  # needed by the change, not done in this mode


def plan_restarts(mode: str, before: Snapshot, plan: Sequence[Step], now: dt.datetime) -> RestartPlan:
    # Predicting what each service presents builds chains for both states: once per run, shared by both answers.
    needed = restarts_needed(before, apply_plan(before, plan), now) if plan else {}
    planned = planned_restarts(mode, before, needed)
    return RestartPlan(restart_steps(planned, plan), {s: r for s, r in needed.items() if s not in planned})


def presentation(snapshot: Snapshot, now: dt.datetime) -> dict[str, Any]:
    """What a service started now would present, per protocol: the report's "stored" side."""
    return {protocol: presented.to_dict() for protocol, presented in stored_presentation(snapshot, now).items()}


def with_restarts(diff: dict[str, str], steps: Sequence[Step]) -> dict[str, str]:
    """The --diff text, with the restarts the run does after the change."""
    if steps:
        lines = "".join(f"  {s.params['service']}: {s.reason}\n" for s in steps)
        diff = {**diff, "after": diff["after"] + "Services restarted after the change:\n" + lines}
    return diff
