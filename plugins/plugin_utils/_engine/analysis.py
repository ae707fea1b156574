"""The engine's entry point: snapshot + desired state -> findings and an ordered plan.

Data flow: read result -> Snapshot -> Context (chains, selection, groups) ->
Remediation (what the plan will do) -> Checks (findings, blockers) -> Steps.
When any blocker is found the plan is empty: applying part of a change whose
premise is wrong (no certificate to point at, a connector that does not exist)
is never safer than applying none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks import chains, selection
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.context import Context
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.families import run_checks
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.findings import Finding
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model import certificate, names
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    Certificate,
    normalize_thumbprint,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.decide import decide
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step

__all__ = ["Analysis", "analyse", "clear_caches"]


@dataclass
class Analysis:
    findings: list[Finding]
    plan: list[Step]
    compliant: bool  # no error-severity finding
    blockers: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def to_dict(self) -> dict:
        """JSON-able; secrets redacted."""
        return {
            "compliant": self.compliant,
            "findings": [f.to_dict() for f in self.findings],
            "blockers": [f.to_dict() for f in self.blockers],
            "plan": [s.to_display() for s in self.plan],
            "changes_needed": bool(self.plan),
        }


def clear_caches() -> None:
    """Forget every per-process cache (parsed certificates, parsed names, chain verifiers).

    The caches only ever hold derived, immutable data keyed by its input; clearing them changes
    no result. Benchmarks call this to measure a cold analysis, as a fresh Ansible worker sees it.
    """
    certificate.clear_cache()
    names.clear_cache()
    chains.clear_cache()
    selection.clear_cache()


def analyse(
    snapshot: Snapshot,
    desired: DesiredState | None,
    now: dt.datetime,
    *,
    trust_bundle: Sequence[Certificate] = (),
) -> Analysis:
    """Judge one host against ``desired`` (store-wide checks only when it is None) at time ``now``."""
    if now.tzinfo is None:
        raise InputError(f"analyse: now={now.isoformat()} must carry a time zone (use UTC)")
    if desired is not None and desired.thumbprint is not None:
        normalized = normalize_thumbprint(desired.thumbprint, "thumbprint")
        if normalized != desired.thumbprint:
            desired = replace(desired, thumbprint=normalized)
    if desired is not None:
        desired = desired.for_computer(snapshot.host.computer_name)
    ctx = Context(snapshot, desired, now, tuple(trust_bundle))
    remediation = decide(ctx)
    report = run_checks(ctx, remediation)
    plan = [] if report.blockers or desired is None else remediation.decisions.steps(desired)
    compliant = not any(f.is_error for f in report.findings)
    return Analysis(report.findings, plan, compliant, report.blockers)
