"""What every connector and the hybrid configuration name now, judged store-wide (no desired state needed)."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.context import Binder
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import certificates_named
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.host_parts import ConnectorKind
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.decide import names_intended


def binder_fix(run: CheckRun, binder: Binder) -> str | None:
    """The plan step that rebinds ``binder``, if the plan has one."""
    if binder.kind is ConnectorKind.HYBRID:
        return "set_hybrid" if run.plan.set_hybrid is not None else None
    if any(c.identity == binder.identity and c.kind == binder.kind for c, _unused in run.plan.set_connectors):
        return "set_connector"
    return None


def _named_certificates(run: CheckRun, binder: Binder) -> None:
    ctx = run.ctx
    named = certificates_named(ctx.snapshot, binder.tls_certificate_name)
    if not named:
        run.add(
            "connector_certificate_not_found",
            f"{binder.label} names {binder.tls_certificate_name!r}, which matches no certificate in "
            "LocalMachine\\My (454 4.7.5 The certificate specified in TlsCertificateName could not be found)",
            binder.evidence(),
            binder_fix(run, binder),
        )
    elif len(named) > 1:
        selection = ctx.selections[(binder.kind, binder.identity)]
        remaining = [i for i in named if not run.plan.removes(i.thumbprint)]
        fix = binder_fix(run, binder) or ("remove" if len(remaining) == 1 else None)
        winner = selection.winner.thumbprint if selection.winner else None
        run.add(
            "connector_ambiguous",
            f"{binder.label} names {binder.tls_certificate_name!r}, which matches {len(named)} copies "
            f"({', '.join(i.thumbprint for i in named)}); any of them could be presented"
            + (f", inbound STARTTLS picks {winner}" if winner else ""),
            {
                **binder.evidence(),
                "could_present": [run.copy_evidence(i) for i in selection.could_present],
                "inbound_choice": winner,
            },
            fix,
        )


def _presented_without_smtp(run: CheckRun, binder: Binder) -> None:
    ctx = run.ctx
    managed = ctx.desired is not None and names_intended(ctx, binder.tls_certificate_name)
    winner = ctx.selections[(binder.kind, binder.identity)].winner
    if (
        winner is not None
        and not managed
        and ctx.snapshot.exchange is not None
        and "SMTP" not in ctx.services(winner.thumbprint)
        and binder.kind is not ConnectorKind.HYBRID
    ):
        run.add(
            "service_not_enabled",
            f"{binder.label} would present {winner.thumbprint}, which is not enabled for SMTP "
            "(TLS negotiation failed with error UnknownCredentials)",
            {
                **binder.evidence(),
                "thumbprint": winner.thumbprint,
                "services": list(ctx.services(winner.thumbprint)),
            },
        )


def binders(run: CheckRun) -> None:
    for binder in run.ctx.binders:
        if not binder.tls_certificate_name:
            continue
        _named_certificates(run, binder)
        _presented_without_smtp(run, binder)
