"""Certificates in use now (bound, or presentable by a connector) other than the intended one."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.chain_findings import chain
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.validity import (
    revoked,
    strength,
    validity,
)

DEFAULT_EXPIRY_WARNING_DAYS = 30


def bound_certificates(run: CheckRun) -> None:
    ctx = run.ctx
    warn_days = ctx.desired.expiry_warning_days if ctx.desired else DEFAULT_EXPIRY_WARNING_DAYS
    for item, reasons in ctx.bound:
        if item.thumbprint == ctx.intended_thumbprint:
            continue  # judged as the intended certificate
        fix = "remove" if run.plan.removes(item.thumbprint) else None
        evidence = {**run.copy_evidence(item), "in_use": reasons}
        validity(run, item, evidence, warn_days, fix=fix, blocker=False)
        if not item.has_private_key:
            run.add(
                "no_private_key",
                f"{item.thumbprint} ({item.subject_str}) is in use ({'; '.join(reasons)}) but has no private key "
                "(TLS negotiation failed with error NoCredentials)",
                evidence,
                fix,
            )
        revoked(run, item, evidence, fix=fix, blocker=False)
        strength(run, item, evidence)
        if not item.certificate.is_self_signed:
            chain(run, item, ctx.chain(item.certificate), evidence, fix=None, blocker=False)
