"""The plan's end state, simulated: a plan that would leave a binding with nothing it has now is refused whole.

Each removal is proven safe on its own against what names the certificate, but some bindings are
not names: a connector without TlsCertificateName is bound by Exchange's selection by FQDN, and a
planner mistake would show only on the server. So the whole plan is applied to the snapshot
(``plan/simulate.py``) and every binding that resolves now is resolved again in that end state. A
binding that would resolve to nothing, where it resolves to something now, is exactly an error
finding the current state does not have (``connector_certificate_not_found``,
``binding_certificate_missing``, ``internal_transport_certificate``): the plan is refused before any
step runs, and the finding names what would be lost. A binding that names nothing already is
reported by its own check and does not block the plan (the plan may be what repairs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.context import Context, binders
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import (
    BY_TLS_NAME,
    Selection,
    predict,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.host_parts import ConnectorKind
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step


@dataclass(frozen=True)
class Loss:
    """One binding that resolves now and would resolve to nothing once the plan has run."""

    what: str  # "receive connector EX01\\Legacy relay", "IIS binding Default Web Site *:443:", ...
    end_state_code: str  # the finding the end state would have
    loses: tuple[str, ...]  # the thumbprints it resolves to now
    evidence: dict


def _resolved(selection: Selection) -> tuple[str, ...]:
    """What a connector resolves to: the copies its name matches, or the copy selected by FQDN."""
    if selection.matched_by == BY_TLS_NAME:
        return tuple(item.thumbprint for item in selection.matches)
    return (selection.winner.thumbprint,) if selection.winner is not None else ()


def _connector_losses(ctx: Context, after: Snapshot) -> Iterator[Loss]:
    index = ctx.my_index_after(after)
    later = {(b.kind, b.identity): b for b in binders(after)}
    for binder in ctx.binders:
        ended = later.get((binder.kind, binder.identity))
        if ended is None or (binder.kind is ConnectorKind.HYBRID and not ended.tls_certificate_name):
            continue  # a hybrid configuration without a name selects nothing (no finding either way)
        now = _resolved(ctx.selections[(binder.kind, binder.identity)])
        if now and not _resolved(predict(after, ended.tls_certificate_name, ended.fqdn, ctx.now, index=index)):
            yield Loss(binder.label, "connector_certificate_not_found", now, ended.evidence())


class _Holds:
    """Which thumbprints each store of a snapshot holds (a set per store, built when first asked).

    A store the read does not hold (WebHosting) holds nothing here: a binding to it cannot be judged.
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._sets: dict[str, frozenset[str]] = {}

    def __call__(self, thumbprint: str | None, store: str | None = "My") -> bool:
        name = self.snapshot.store_named(store)
        if not thumbprint or name is None:
            return False
        if name not in self._sets:
            self._sets[name] = frozenset(item.thumbprint for item in self.snapshot.store(name))
        return thumbprint in self._sets[name]


def _thumbprint_losses(before: Snapshot, after: Snapshot) -> Iterator[Loss]:
    held, holds = _Holds(before), _Holds(after)
    later_iis = {(b.site, b.binding): b for b in after.iis_bindings}
    for binding in before.iis_bindings:
        ended = later_iis.get((binding.site, binding.binding))
        if ended is None:
            continue
        if held(binding.thumbprint, binding.store) and not holds(ended.thumbprint, ended.store):
            what = f"IIS binding {binding.site} {binding.binding}"
            evidence = {"kind": "iis_binding", "site": binding.site, "binding": binding.binding}
            yield Loss(what, "binding_certificate_missing", (binding.thumbprint or "",), evidence)
    for sys_binding in before.http_sys_bindings:  # no step changes them: only their certificate can leave
        if held(sys_binding.thumbprint, sys_binding.store) and not holds(sys_binding.thumbprint, sys_binding.store):
            what = f"http.sys SSL binding {sys_binding.endpoint}"
            evidence = {"kind": "http_sys_binding", "endpoint": sys_binding.endpoint}
            yield Loss(what, "binding_certificate_missing", (sys_binding.thumbprint,), evidence)
    was, ended_ex = before.exchange, after.exchange
    if was is None or ended_ex is None:
        return
    was_internal = was.internal_transport_thumbprint
    if held(was_internal) and not holds(ended_ex.internal_transport_thumbprint):
        yield Loss("the internal transport certificate", "internal_transport_certificate", (was_internal or "",), {})
    for entry in ended_ex.certificates.values():
        if entry.services and held(entry.thumbprint) and not holds(entry.thumbprint):
            what = f"Exchange services {', '.join(entry.services)}"
            yield Loss(what, "binding_certificate_missing", (entry.thumbprint,), {"kind": "exchange_services"})


def end_state_losses(ctx: Context, plan: list[Step]) -> list[Loss]:
    """Every binding the plan's end state would leave with nothing, where it has something now."""
    after = apply_plan(ctx.snapshot, plan)
    return [*_connector_losses(ctx, after), *_thumbprint_losses(ctx.snapshot, after)]


def _responsible(plan: list[Step], loss: Loss) -> list[str]:
    """The steps that take the binding's certificate away or repoint the binding itself."""
    identity = loss.evidence.get("identity")
    return [
        f"{step.action} {step.params.get('thumbprint') or step.params.get('identity') or ''}".strip()
        for step in plan
        if step.params.get("thumbprint") in loss.loses or (identity and step.params.get("identity") == identity)
    ]


def plan_end_state(run: CheckRun) -> None:
    """Refuse the whole plan when its end state breaks a binding that works now (runs last: the plan is final)."""
    ctx = run.ctx
    if ctx.desired is None or run.report.blockers:
        return  # no plan, or a plan already refused
    plan = run.plan.steps(ctx.desired)
    for loss in end_state_losses(ctx, plan) if plan else ():
        steps = _responsible(plan, loss)
        run.add(
            "plan_breaks_binding",
            f"the plan was refused and nothing was changed: once its steps ({', '.join(steps)}) had run, "
            f"{loss.what} would lose {', '.join(loss.loses)} and resolve to no certificate "
            f"({loss.end_state_code}). Move it to a certificate that stays, or keep the one it uses",
            {
                **loss.evidence,
                "binding": loss.what,
                "end_state_code": loss.end_state_code,
                "loses": list(loss.loses),
                "steps": steps,
            },
            blocker=True,
        )
