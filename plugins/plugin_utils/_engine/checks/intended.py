"""The intended certificate: present with its key, healthy, chained, covering the names, enabled for the services."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.chain_findings import intended_chain
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.context import serves_here
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import covers
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.validity import (
    revoked,
    strength,
    validity,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import StoredCertificate


def _desired(run: CheckRun) -> DesiredState:
    desired = run.ctx.desired
    if desired is None:  # narrowing for type checkers; callers guarantee it
        raise AssertionError("desired must be set here")
    return desired


def _presence(run: CheckRun, thumbprint: str, has_pfx: bool) -> None:
    stored = run.ctx.intended_stored
    if stored is None:
        run.add(
            "missing_intended_certificate",
            f"the intended certificate {thumbprint} is not in LocalMachine\\My"
            + ("" if has_pfx else "; give the PFX (option pfx) so that it can be imported"),
            {"thumbprint": thumbprint},
            "import_pfx" if has_pfx else None,
            blocker=not has_pfx,
        )
    elif not stored.has_private_key:
        run.add(
            "no_private_key",
            f"the intended certificate {thumbprint} ({stored.subject_str}) has no private key "
            "(TLS negotiation failed with error NoCredentials)",
            run.copy_evidence(stored),
            "import_pfx" if has_pfx else None,
            blocker=not has_pfx,
        )


def _services(run: CheckRun, thumbprint: str, evidence: dict) -> None:
    missing = [s for s in _desired(run).services if s not in run.ctx.services(thumbprint)]
    if missing:
        run.add(
            "service_not_enabled",
            f"the intended certificate {thumbprint} is not enabled for {', '.join(missing)}"
            + (" (TLS negotiation failed with error UnknownCredentials)" if "SMTP" in missing else ""),
            {**evidence, "missing_services": missing},
            "enable_services",
        )


def intended(run: CheckRun) -> None:
    ctx, desired = run.ctx, _desired(run)
    thumbprint = ctx.intended_thumbprint
    if thumbprint is None:
        return
    _presence(run, thumbprint, bool(desired.pfx_b64))
    cert = ctx.intended_cert
    if cert is None:
        return
    item = ctx.intended_stored or StoredCertificate("My", cert, cert.subject_str, cert.issuer_str, True, True)
    evidence = {**run.copy_evidence(item), "intended": True}
    validity(run, item, evidence, desired.expiry_warning_days, fix=None, blocker=True)
    revoked(run, item, evidence, fix=None, blocker=True)
    strength(run, item, evidence)
    intended_chain(run, item, evidence)
    names(run, item, evidence)
    if ctx.snapshot.exchange is not None:
        _services(run, thumbprint, evidence)


def names(run: CheckRun, item: StoredCertificate, evidence: dict) -> None:
    ctx, desired = run.ctx, _desired(run)
    wanted = list(desired.server_fqdn_names)
    ex = ctx.snapshot.exchange
    if ex is not None:
        for connector in ex.connectors:
            if not serves_here(ctx.snapshot, connector):
                continue
            if connector.fqdn and any(connector.matches(r) for r in desired.connector_refs(connector.kind)):
                wanted.append(connector.fqdn)
    cert = item.certificate
    missing = sorted({n for n in wanted if not covers(cert.sans, cert.common_name, n)}, key=str.casefold)
    if missing:
        run.add(
            "name_not_covered",
            f"the intended certificate {item.thumbprint} does not cover {', '.join(missing)} "
            f"(its names: {', '.join(cert.sans) or cert.common_name or 'none'}; 450 4.7.320 Certificate "
            "validation failed)",
            {**evidence, "names_not_covered": missing, "sans": list(cert.sans)},
            # Binding a connector to a certificate without its FQDN breaks it
            # (450 4.7.320): the declared state contradicts itself, so nothing
            # is changed until a person picks another certificate or connector.
            blocker=True,
        )
