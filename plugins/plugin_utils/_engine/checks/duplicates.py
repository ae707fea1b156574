"""Copies of one certificate in My: duplicate groups, and an internal transport certificate among them."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import group_key
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import StoredCertificate


def duplicates(run: CheckRun) -> None:
    ctx, rem, plan = run.ctx, run.rem, run.plan
    ex = ctx.snapshot.exchange
    for group in ctx.duplicate_groups:
        if ex is not None and all(ex.organisation_bindings_of(item.thumbprint) for item in group):
            # Exchange's OAuth (or a federation trust's) certificate beside the one staged to replace it, or
            # the one it replaced: a renewal in progress (Set-AuthConfig -NewCertificateThumbprint), not drift.
            continue
        keeper = rem.keepers.get(group_key(group[0]))
        removing = [t for t, _unused in plan.removals if any(i.thumbprint == t for i in group)]
        kept_bound = {i.thumbprint: rem.kept_bound[i.thumbprint] for i in group if i.thumbprint in rem.kept_bound}
        thumbprints = ", ".join(i.thumbprint for i in group)
        message = (
            f"{len(group)} certificates in LocalMachine\\My share issuer {group[0].issuer_str!r} and subject "
            f"{group[0].subject_str!r} ({thumbprints}); a TlsCertificateName cannot tell them apart"
        )
        if keeper is not None:
            message += f"; keep {keeper.thumbprint} because {keeper.reason}"
        if kept_bound:
            message += "; still bound, not removed: " + "; ".join(
                f"{t} ({', '.join(r)})" for t, r in sorted(kept_bound.items())
            )
        run.add(
            "duplicate_certificate",
            message,
            {
                "issuer": group[0].issuer_str,
                "subject": group[0].subject_str,
                "copies": [run.copy_evidence(i) for i in group],
                "keep": keeper.thumbprint if keeper else None,
                "keep_reason": keeper.reason if keeper else None,
                "remove": sorted(removing),
                "kept_bound": kept_bound,
            },
            "remove" if removing else None,
        )


def _keeper_of(run: CheckRun, item: StoredCertificate) -> str | None:
    keeper = run.rem.keepers.get(group_key(item))
    return keeper.thumbprint if keeper else None


def _is_removed_duplicate(run: CheckRun, thumbprint: str) -> bool:
    ctx = run.ctx
    if thumbprint in run.rem.kept_bound or run.plan.removes(thumbprint):
        return True
    if ctx.desired is None or ctx.desired.duplicates != "remove":
        return False
    return any(thumbprint == i.thumbprint and thumbprint != _keeper_of(run, i) for g in ctx.duplicate_groups for i in g)


def internal_transport(run: CheckRun) -> None:
    ctx, plan = run.ctx, run.plan
    ex = ctx.snapshot.exchange
    internal = ex.internal_transport_thumbprint if ex is not None else None
    if not internal:
        return
    enabling = plan.enable_services.get(ctx.intended_thumbprint) if ctx.intended_thumbprint else None
    fix = "enable_services" if enabling is not None and "SMTP" in enabling[0] else None
    if ctx.snapshot.find(internal) is None:
        run.add(
            "internal_transport_certificate",
            f"the internal transport certificate {internal} is not in LocalMachine\\My (event 12013)",
            {"thumbprint": internal, "state": "missing"},
            fix,
        )
    elif _is_removed_duplicate(run, internal):
        run.add(
            "internal_transport_certificate",
            f"the internal transport certificate {internal} is a duplicate that should be removed",
            {"thumbprint": internal, "state": "duplicate"},
            fix,
        )
