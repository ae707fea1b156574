"""The bindings the user declared: targets that must exist, and each one naming the intended certificate."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.host_parts import ConnectorKind
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.decide import names_intended


def _desired(run: CheckRun) -> DesiredState:
    desired = run.ctx.desired
    if desired is None:  # narrowing for type checkers; callers guarantee it
        raise AssertionError("desired must be set here")
    return desired


def _missing_targets(run: CheckRun) -> None:
    rem = run.rem
    for kind, ref in rem.missing_connectors:
        run.add(
            "connector_not_found",
            f"there is no {kind.value} connector {ref!r} (option {kind.value}_connectors)"
            + ("" if run.ctx.snapshot.exchange is not None else " (the Exchange management tools are absent)"),
            {"kind": kind.value, "identity": ref},
            blocker=True,
        )
    if rem.hybrid_missing:
        run.add(
            "hybrid_not_found",
            "hybrid_configuration is set but the organisation has no hybrid configuration",
            {"kind": ConnectorKind.HYBRID.value},
            blocker=True,
        )
    for ref in rem.missing_iis:
        run.add("iis_binding_not_found", f"there is no IIS https binding {ref!r}", {"iis_binding": ref}, blocker=True)


def _connector_mismatches(run: CheckRun) -> None:
    for connector, tls_name in run.plan.set_connectors:
        run.add(
            "connector_mismatch",
            f"{connector.kind.value} connector {connector.identity} names "
            f"{connector.tls_certificate_name or 'no certificate'!r}, not the intended certificate {tls_name!r}",
            {
                "kind": connector.kind.value,
                "identity": connector.identity,
                "tls_certificate_name": connector.tls_certificate_name,
                "intended_tls_certificate_name": tls_name,
                "intended_thumbprint": run.ctx.intended_thumbprint,
            },
            "set_connector",
        )


def _hybrid_mismatch(run: CheckRun) -> None:
    ex, intended_name = run.ctx.snapshot.exchange, run.plan.set_hybrid
    if intended_name is None or ex is None or ex.hybrid_configuration is None:
        return
    run.add(
        "hybrid_mismatch",
        f"the hybrid configuration names {ex.hybrid_configuration.tls_certificate_name or 'no certificate'!r}, "
        f"not the intended certificate {intended_name!r}",
        {
            "tls_certificate_name": ex.hybrid_configuration.tls_certificate_name,
            "intended_tls_certificate_name": intended_name,
            "intended_thumbprint": run.ctx.intended_thumbprint,
        },
        "set_hybrid",
    )


def _iis_mismatches(run: CheckRun) -> None:
    for binding, thumbprint in run.plan.set_iis:
        run.add(
            "iis_binding_mismatch",
            f"IIS binding {binding.site} {binding.binding} uses {binding.thumbprint or 'no certificate'}, "
            f"not {thumbprint}",
            {
                "site": binding.site,
                "binding": binding.binding,
                "thumbprint": binding.thumbprint,
                "intended_thumbprint": thumbprint,
            },
            "set_iis_binding",
        )


def desired_bindings(run: CheckRun) -> None:
    ctx, desired = run.ctx, _desired(run)
    _missing_targets(run)
    if ctx.intended_thumbprint is None or (ctx.snapshot.exchange is None and not desired.iis_bindings):
        return
    _connector_mismatches(run)
    _hybrid_mismatch(run)
    _iis_mismatches(run)
    presented(run)


def presented(run: CheckRun) -> None:
    """Connectors that name the intended certificate but on which Exchange would present another copy."""
    ctx, desired = run.ctx, _desired(run)
    for binder in ctx.binders:
        managed = binder.kind is ConnectorKind.HYBRID and desired.hybrid_configuration
        if binder.connector is not None:
            managed = any(binder.connector.matches(r) for r in desired.connector_refs(binder.kind))
        if not managed or not names_intended(ctx, binder.tls_certificate_name):
            continue
        selection = ctx.selections[(binder.kind, binder.identity)]
        others = [i for i in selection.could_present if i.thumbprint != ctx.intended_thumbprint]
        if not others and selection.winner is not None:
            continue
        remaining = [i for i in others if not run.plan.removes(i.thumbprint)]
        fix = "remove" if not remaining and others else ("import_pfx" if run.plan.import_pfx else None)
        run.add(
            "wrong_certificate_presented",
            f"{binder.label} names the intended certificate, but Exchange may present "
            f"{', '.join(i.thumbprint for i in others) or 'nothing'} instead of {ctx.intended_thumbprint}",
            {
                **binder.evidence(),
                "intended_thumbprint": ctx.intended_thumbprint,
                "could_present": [run.copy_evidence(i) for i in others],
                "inbound_choice": selection.winner.thumbprint if selection.winner else None,
            },
            fix,
        )
