"""The plays the reliability tests run: the declared state of a case host, restore, and playbooks with the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.playbook import REPO, PlaybookRun, run_playbook

PLAYBOOKS = REPO / "playbooks"
REPORT_CALLBACK = "certwarden.exchange.compliance_report"


def run_with_report(
    playbook: str | list[dict[str, Any]],
    inventory: Path,
    workdir: Path,
    *,
    extra_vars: dict[str, Any] | None = None,
    check: bool = False,
    timeout: float = 300,
) -> tuple[PlaybookRun, dict[str, Any]]:
    """Run a playbook of the collection (``rollout.yml``) or plays given as data, with the fleet report.

    Returns the run (every task result captured) and report.json.
    """
    target: str | Path | list[dict[str, Any]] = playbook
    if isinstance(playbook, str):
        target = PLAYBOOKS / playbook
    report_dir = workdir / "report"
    run = run_playbook(
        target,
        inventory,
        workdir,
        check=check,
        extra_vars=extra_vars,
        timeout=timeout,
        env={
            "ANSIBLE_CALLBACKS_ENABLED": f"capture_results,{REPORT_CALLBACK}",
            "CERTWARDEN_REPORT_DIR": str(report_dir),
        },
    )
    report_path = report_dir / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    return run, report
