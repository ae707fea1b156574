"""The backup folder on this server: a plan that backs up refuses a folder the server's facts make unsafe."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun


def backup_folder(run: CheckRun) -> None:
    """A blocker when the plan would back up into a folder ``judge_backup_folder`` refused.

    Blocking empties the whole plan: the removals need the backups, and the
    steps before them (imports, bindings) were declared together with them; a
    server half-moved to the new certificate because of a folder option is not
    what was asked for. A plan without removals never writes there, so the
    folder is not judged then.
    """
    use = run.plan.backup_folder
    if use is None or use.refusal is None or not run.plan.removals:
        return
    removing = sorted(thumbprint for thumbprint, _reason in run.plan.removals)
    desired = run.ctx.desired
    run.add(
        "backup_folder_refused",
        f"{use.refusal}. The plan backs up and removes {', '.join(removing)} there, so nothing was changed",
        {"remote_directory": desired.backup_directory if desired else None, "removals": removing},
        "set backup.remote_directory to a folder that does not exist yet (the agent creates it for SYSTEM and "
        "Administrators only) or to one already restricted to them, with inheritance disabled, and owned by "
        "Administrators, SYSTEM or the account the agent runs as",
        blocker=True,
    )
