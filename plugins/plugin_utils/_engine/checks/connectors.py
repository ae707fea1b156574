"""What every connector and the hybrid configuration name now, judged store-wide (no desired state needed)."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.context import Binder
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import (
    BY_TLS_NAME,
    Selection,
)
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
    named = ctx.my_index.named(binder.tls_certificate_name)
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


def _selected_by(binder: Binder, selection: Selection) -> str:
    """How Exchange picks the certificate, for a message: by name, or by FQDN when no name is set."""
    if selection.matched_by == BY_TLS_NAME:
        return ""
    return f" (it has no TlsCertificateName, so Exchange selects by the FQDN {selection.target})"


def _fqdn_selection_empty(run: CheckRun, binder: Binder) -> None:
    """A connector without TlsCertificateName for which no certificate with a key covers the FQDN it uses.

    Exchange then selects by the connector's FQDN (else the server's), newest NotBefore first
    (microsoft/CSS-Exchange issue 2035, PR 2234); with nothing to select it has no certificate for STARTTLS.
    """
    selection = run.ctx.selections[(binder.kind, binder.identity)]
    if selection.winner is not None or binder.kind is ConnectorKind.HYBRID:
        return
    run.add(
        "connector_certificate_not_found",
        f"{binder.label} has no TlsCertificateName and no certificate in LocalMachine\\My with a private key "
        f"covers the FQDN it is selected by, {selection.target} (event 12014: no certificate for STARTTLS)",
        {**binder.evidence(), "selected_by": selection.matched_by, "selection_target": selection.target},
        binder_fix(run, binder),
    )


def _presented_without_smtp(run: CheckRun, binder: Binder) -> None:
    ctx = run.ctx
    managed = ctx.desired is not None and names_intended(ctx, binder.tls_certificate_name)
    selection = ctx.selections[(binder.kind, binder.identity)]
    winner = selection.winner
    if (
        winner is not None
        and not managed
        and ctx.snapshot.exchange is not None
        and "SMTP" not in ctx.services(winner.thumbprint)
        and binder.kind is not ConnectorKind.HYBRID
    ):
        run.add(
            "service_not_enabled",
            f"{binder.label} would present {winner.thumbprint}{_selected_by(binder, selection)}, which is not "
            "enabled for SMTP (TLS negotiation failed with error UnknownCredentials)",
            {
                **binder.evidence(),
                "thumbprint": winner.thumbprint,
                "services": list(ctx.services(winner.thumbprint)),
            },
        )


def binders(run: CheckRun) -> None:
    for binder in run.ctx.binders:
        if binder.tls_certificate_name:
            _named_certificates(run, binder)
        else:
            _fqdn_selection_empty(run, binder)
        _presented_without_smtp(run, binder)
