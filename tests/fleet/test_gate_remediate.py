"""gate.yml stops a pipeline on a drifting lab and lets it pass on a healthy one; remediate.yml makes a lab clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fleet.conftest import LabStarter, run_playbook
from tests.lab import LabHandle, state_digest

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_gate_fails_naming_every_failing_server(field_lab: LabHandle, tmp_path: Path) -> None:
    before = state_digest(field_lab.dir)
    run = run_playbook("gate.yml", [field_lab.inventory_path], tmp_path / "report")
    assert run.returncode != 0
    assert "The renewal gate failed" in run.output
    for host in ("duplicate-no-key", "missing-intermediate", "service-unbound", "stale-connector", "expiring"):
        assert f"{host}: " in run.output, host
    assert "healthy: " not in run.output.split("The renewal gate failed", 1)[1].split("PLAY RECAP", 1)[0]
    assert "expiring: expiring_soon" in run.output
    assert state_digest(field_lab.dir) == before


def test_gate_passes_on_a_healthy_lab(fresh_lab: LabStarter, tmp_path: Path) -> None:
    lab = fresh_lab("healthy")
    run = run_playbook("gate.yml", [lab.inventory_path], tmp_path / "report")
    assert run.returncode == 0, run.output[-3000:]
    assert run.report["summary"]["compliant"] == 3


def test_gate_fails_when_the_new_certificate_is_not_staged(fresh_lab: LabStarter, tmp_path: Path) -> None:
    lab = fresh_lab("healthy")
    run = run_playbook(
        "gate.yml",
        [lab.inventory_path],
        tmp_path / "report",
        extra_vars={"certwarden_gate_thumbprint": lab.record["pki"]["rebranded"]},
    )
    assert run.returncode != 0
    for host in lab.hosts:
        assert f"{host}: missing_intended_certificate" in run.output


def test_remediate_then_compliance_is_clean(fresh_lab: LabStarter, tmp_path: Path) -> None:
    lab = fresh_lab("field")
    fixed = run_playbook(
        "remediate.yml",
        [lab.inventory_path],
        tmp_path / "remediate",
        # The services restart where the change needs it, so that the wire shows the fix as well.
        extra_vars={
            "certwarden_backup_local_directory": str(tmp_path / "backups"),
            "certwarden_restart_services": "when_needed",
        },
    )
    assert fixed.returncode == 0, fixed.output[-4000:]
    assert fixed.report["summary"]["changed"] >= 6
    removed = fixed.server("duplicate-revoked")
    assert removed["backups"] and removed["diffs"]
    after = state_digest(lab.dir)
    check = run_playbook("compliance.yml", [lab.inventory_path], tmp_path / "check")
    assert check.returncode == 0, check.output[-3000:]
    assert {s["status"] for s in check.report["servers"]} == {"compliant"}
    assert state_digest(lab.dir) == after
