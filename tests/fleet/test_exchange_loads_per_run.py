"""The nightly run and the gate cost each server one WinRM command and one Exchange load, from the request log.

On a real server each command starts powershell.exe and each Exchange load opens a remote
Exchange session (seconds each, docs/lab.md "Server costs"), so these counts are what a run
costs a server. Counts only, never times.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.conftest import REPO
from tests.lab import LabHandle
from tests.support.playbook import run_playbook

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _marks(lab: LabHandle) -> dict[str, int]:
    return {host: len(_entries(lab, host)) for host in lab.hosts}


def _entries(lab: LabHandle, host: str) -> list[dict]:
    log = lab.host_dir(host) / "requests.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _cost_since(lab: LabHandle, marks: dict[str, int]) -> dict[str, tuple[list[str], int]]:
    """Per host: the kinds of the commands run since ``marks``, and how many Exchange loads."""
    costs = {}
    for host in lab.hosts:
        new = _entries(lab, host)[marks[host] :]
        commands = [e["kind"] for e in new if e["action"] == "command"]
        costs[host] = (commands, sum(1 for e in new if e["action"] == "exchange_load"))
    return costs


@pytest.mark.parametrize("playbook", ["compliance.yml", "gate.yml"])
def test_one_command_and_one_exchange_load_per_server(playbook: str, field_lab: LabHandle, tmp_path: Path) -> None:
    marks = _marks(field_lab)
    run = run_playbook(REPO / "playbooks" / playbook, field_lab.inventory_path, tmp_path / "run")
    assert run.rc in (0, 2), run.output[-3000:]  # 2: drift fails the run, which is the point of both
    assert _cost_since(field_lab, marks) == dict.fromkeys(field_lab.hosts, (["read"], 1))


def test_remediation_is_two_commands_and_two_loads_then_the_check(fresh_lab: Any, tmp_path: Path) -> None:
    """remediate.yml: a read, one apply that reads again (on a server with something to do), then the role's check."""
    lab = fresh_lab("duplicate-no-key")
    marks = _marks(lab)
    run = run_playbook(
        REPO / "playbooks" / "remediate.yml",
        lab.inventory_path,
        tmp_path / "run",
        extra_vars={"certwarden_backup_local_directory": str(tmp_path / "backups")},
    )
    assert run.rc == 0, run.output[-3000:]
    costs = _cost_since(lab, marks)
    assert costs.pop("EX02") == (["read", "apply", "read"], 3)
    assert costs == dict.fromkeys(costs, (["read", "read"], 2))


def test_the_nightly_runs_two_tasks_per_server_after_the_argument_validation(
    field_lab: LabHandle, tmp_path: Path
) -> None:
    """Each task a server runs costs the controller a worker process; the nightly's are counted from its results.

    The probes of SMTP and HTTPS run inside the check's own task (the field lab serves both on every host).
    """
    run = run_playbook(REPO / "playbooks" / "compliance.yml", field_lab.inventory_path, tmp_path / "run")
    assert run.rc == 2, run.output[-3000:]
    actions: dict[str, list[str]] = {host: [] for host in field_lab.hosts}
    for record in run.records:
        actions[record["host"]].append(record["action"])
    nightly = (
        "ansible.builtin.validate_argument_spec",
        "certwarden.exchange.cert_compliance",
        "certwarden.exchange.compliance_verdict",
    )
    assert {host: tuple(done) for host, done in actions.items()} == dict.fromkeys(field_lab.hosts, nightly)
    probed = {r["host"]: r["result"] for r in run.records if r["action"] == "certwarden.exchange.cert_compliance"}
    protocols = {host: tuple(p["protocol"] for p in result["probes"]) for host, result in probed.items()}
    assert protocols == dict.fromkeys(field_lab.hosts, ("SMTP", "IIS"))
