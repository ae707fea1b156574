"""cert_restore across a fleet where some servers never had anything removed: ok, with a message, no command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lab import state_digest
from tests.support.lab_plays import RESTORE_TASK, compliance_play, restore_play
from tests.support.playbook import run_playbook

pytestmark = [pytest.mark.lab]


def _commands(lab_dir: Path, host: str) -> int:
    log = lab_dir / "hosts" / host / "requests.log"
    return sum(1 for line in log.read_text().splitlines() if json.loads(line)["action"] == "command")


def test_restore_is_ok_on_servers_without_backups(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")  # EX02 has a duplicate to remove, EX01 and EX03 nothing
    backups = tmp_path / "backups"
    fixed = run_playbook(compliance_play(backups), lab.inventory_path, tmp_path / "apply")
    assert fixed.rc == 0, fixed.output[-3000:]
    assert (backups / "EX02" / "manifest.json").is_file()
    assert not (backups / "EX01").exists()
    before = {h: _commands(lab.dir, h) for h in lab.hosts}
    digest = state_digest(lab.dir)

    run = run_playbook(restore_play(backups), lab.inventory_path, tmp_path / "restore", check=True)

    assert run.rc == 0, run.output[-3000:]
    statuses, results = run.statuses(RESTORE_TASK), run.results(RESTORE_TASK)
    empty = "EX01"
    assert statuses[empty] == "ok"
    assert results[empty]["msg"] == f"nothing to restore on {empty}: '{backups}' holds no backups for it"
    assert results[empty]["restored"] == [] and not results[empty]["changed"]
    assert _commands(lab.dir, empty) == before[empty]
    assert results["EX02"]["changed"] and results["EX02"]["restored"]
    assert state_digest(lab.dir) == digest
