"""What a server pays per run, counted from the lab's request log: WinRM commands and Exchange loads.

On a real server each command starts powershell.exe and each Exchange load opens a
remote Exchange session (seconds each, docs/lab.md "Server costs"): check mode is one
command and one load per server, apply two and two whatever the plan, and apply
verifies with a fresh read. Counts only, never times.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.lab import LabHandle
from tests.support.lab_plays import COMPLIANCE_TASK, compliance_play
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab


class RequestLog:
    """Each host's command kinds and Exchange loads since the last ``take()``."""

    def __init__(self, lab: LabHandle) -> None:
        self.lab = lab
        self.marks = {host: 0 for host in lab.hosts}

    def _entries(self, host: str) -> list[dict[str, Any]]:
        path = self.lab.host_dir(host) / "requests.log"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def take(self) -> dict[str, tuple[list[str], int]]:
        taken = {}
        for host in self.lab.hosts:
            entries = self._entries(host)
            new = entries[self.marks[host] :]
            self.marks[host] = len(entries)
            commands = [e["kind"] for e in new if e["action"] == "command"]
            taken[host] = (commands, sum(1 for e in new if e["action"] == "exchange_load"))
        return taken


def test_check_is_one_command_and_one_exchange_load_apply_two_and_two(lab_factory: Any, tmp_path: Path) -> None:
    lab = lab_factory("field")
    log = RequestLog(lab)
    play = compliance_play(tmp_path / "backups")

    check = run_playbook(play, lab.inventory_path, tmp_path / "check", check=True)
    assert check.rc in (0, 2), check.output
    plans = {host: result.get("plan") or [] for host, result in check.results(COMPLIANCE_TASK).items()}
    assert set(plans) == set(lab.hosts)
    assert log.take() == {host: (["read"], 1) for host in lab.hosts}

    apply = run_playbook(play, lab.inventory_path, tmp_path / "apply")
    assert apply.rc in (0, 2), apply.output
    counted = log.take()
    changed = [host for host in lab.hosts if plans[host]]
    assert changed, "the field lab has hosts with something to apply"
    for host in lab.hosts:
        expected = (["read", "apply"], 2) if plans[host] else (["read"], 1)
        assert counted[host] == expected, host


def test_apply_reports_the_server_as_read_after_its_steps(lab_factory: Any, tmp_path: Path) -> None:
    """The summary and the verification come from the read made after the steps, in the same command."""
    lab = lab_factory("duplicate-no-key")
    log = RequestLog(lab)
    play = compliance_play(tmp_path / "backups")
    apply = run_playbook(play, lab.inventory_path, tmp_path / "apply", limit="EX02")
    assert apply.rc == 0, apply.output
    result = apply.results(COMPLIANCE_TASK)["EX02"]
    assert result["compliant"] is True
    assert log.take()["EX02"] == (["read", "apply"], 2)
    keyless = lab.record["hosts"]["EX02"]["thumbprints"]["keyless_copy"]
    assert keyless not in {c["thumbprint"] for c in result["certificates"]}
    assert "duplicate_certificate" not in {f["code"] for f in result["findings_after"]}


def test_a_failed_read_after_the_steps_costs_one_more_command_not_the_verification(
    lab_factory: Any, tmp_path: Path
) -> None:
    """When the agent's read after the steps fails, the steps' results still count and a read of its own verifies."""
    lab = lab_factory("duplicate-no-key")
    (lab.host_dir("EX02") / "faults.json").write_text(json.dumps({"fail_read_after": True, "once": True}))
    log = RequestLog(lab)
    apply = run_playbook(compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "apply", limit="EX02")
    assert apply.rc == 0, apply.output
    result = apply.results(COMPLIANCE_TASK)["EX02"]
    assert result["compliant"] is True and result["changed"] is True
    keyless = lab.record["hosts"]["EX02"]["thumbprints"]["keyless_copy"]
    assert [b["thumbprint"] for b in result["backups"]] == [keyless]
    # The fault fails the read at the stores, before Exchange loads (as the agent reads the stores first).
    assert log.take()["EX02"] == (["read", "apply", "read"], 2)
