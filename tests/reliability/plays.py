"""The plays the reliability tests run: the declared state of a case host, restore, and playbooks with the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.playbook import REPO, PlaybookRun, run_playbook

PLAYBOOKS = REPO / "playbooks"

BACKUP_PASSWORD = "backup-secret-Rl7"
COMPLIANCE_TASK = "compliance"
RESTORE_TASK = "restore"


def compliance_args(backup_dir: Path, **overrides: Any) -> dict[str, Any]:
    """cert_compliance options for a lab host (its inventory vars give the certificate and chain)."""
    return {
        "certificate": {
            "thumbprint": "{{ certwarden_intended_thumbprint }}",
            "pfx": "{{ certwarden_pfx_path }}",
            "password": "{{ certwarden_pfx_password }}",
        },
        "chain": "{{ certwarden_chain_bundle }}",
        "services": "{{ certwarden_services }}",
        "send_connectors": "{{ certwarden_send_connectors }}",
        "receive_connectors": ["Default Frontend {{ certwarden_computer_name }}"],
        "hybrid_configuration": True,
        "iis_bindings": ["Default Web Site:443"],
        "backup": {"local_directory": str(backup_dir), "password": BACKUP_PASSWORD},
        **overrides,
    }


def compliance_play(backup_dir: Path, **overrides: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": "certificate compliance",
            "hosts": "exchange",
            "gather_facts": False,
            "tasks": [
                {
                    "name": COMPLIANCE_TASK,
                    "certwarden.exchange.cert_compliance": compliance_args(backup_dir, **overrides),
                }
            ],
        }
    ]


def restore_play(backup_dir: Path) -> list[dict[str, Any]]:
    return [
        {
            "name": "restore",
            "hosts": "exchange",
            "gather_facts": False,
            "tasks": [
                {
                    "name": RESTORE_TASK,
                    "certwarden.exchange.cert_restore": {"src": str(backup_dir), "password": BACKUP_PASSWORD},
                }
            ],
        }
    ]


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
