"""Option retire: certificates that must leave My (removed when free, else explained)."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun


def retired(run: CheckRun) -> None:
    ctx = run.ctx
    for thumbprint in run.rem.retired:
        item = ctx.snapshot.find(thumbprint)
        if item is None:  # narrowing for type checkers; decide() only lists present ones
            continue
        run.add(
            "retired_certificate_present",
            f"{thumbprint} ({item.subject_str}) is to be retired (option retire) but is still in "
            "LocalMachine\\My; nothing binds it once the plan's earlier steps have run",
            {**run.copy_evidence(item), "retire": True},
            "remove",
        )
    for thumbprint, reasons in sorted(run.rem.retired_bound.items()):
        item = ctx.snapshot.find(thumbprint)
        if item is None:  # narrowing for type checkers; decide() only lists present ones
            continue
        run.add(
            "retired_certificate_bound",
            f"{thumbprint} ({item.subject_str}) is to be retired (option retire) but is kept because it is "
            f"still in use: {'; '.join(reasons)}; move these onto another certificate first",
            {**run.copy_evidence(item), "retire": True, "bound_by": reasons},
        )
