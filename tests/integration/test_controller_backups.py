"""Backups kept on the controller, through the real ansible-playbook against the lab.

A manifest that cannot be read stops the run before the server changes; a copy
that cannot be written after the server changed is reported as a change, with
every backup and where it is; no half-written file is ever left beside the
manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lab import state_digest
from tests.support.lab_plays import COMPLIANCE_TASK, RESTORE_TASK, compliance_play, restore_play
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab
HOST = "EX02"  # duplicate-no-key: its plan backs up and removes the keyless duplicate


def _duplicate(lab, tmp_path: Path) -> str:
    check = run_playbook(compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "check", check=True)
    [step] = [s for s in check.results(COMPLIANCE_TASK)[HOST]["plan"] if s["action"] == "backup"]
    return step["params"]["thumbprint"]


def test_a_corrupt_manifest_stops_the_apply_before_any_change(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    manifest = tmp_path / "backups" / HOST / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text('[{"thumbprint": "AB", "store": "My"', encoding="utf-8")  # cut short by a full disk
    before = state_digest(lab.dir)
    apply = run_playbook(compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "apply", limit=HOST)
    result = apply.results(COMPLIANCE_TASK)[HOST]
    assert apply.statuses(COMPLIANCE_TASK)[HOST] == "failed" and result["changed"] is False
    assert f"option backup.local_directory: the backup manifest '{manifest}' is not valid JSON" in result["msg"]
    assert "move it aside" in result["msg"] and "Traceback" not in apply.output
    assert state_digest(lab.dir) == before, "the server changed although the backup could not be recorded"
    assert manifest.read_text(encoding="utf-8") == '[{"thumbprint": "AB", "store": "My"', "the manifest was touched"

    restore = run_playbook(restore_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "restore", limit=HOST)
    message = restore.results(RESTORE_TASK)[HOST]["msg"]
    assert f"option src: the backup manifest '{manifest}' is not valid JSON" in message


def test_a_backup_copy_that_cannot_be_written_after_the_change_is_reported_as_a_change(
    lab_factory, tmp_path: Path
) -> None:
    lab = lab_factory("duplicate-no-key")
    duplicate = _duplicate(lab, tmp_path)
    folder = tmp_path / "backups" / HOST
    # Where the copy must go there is a folder: the write fails only after the server removed the duplicate.
    for suffix in ("pfx", "cer"):
        (folder / f"{duplicate}.{suffix}").mkdir(parents=True)
    apply = run_playbook(compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "apply", limit=HOST)
    result = apply.results(COMPLIANCE_TASK)[HOST]
    assert apply.statuses(COMPLIANCE_TASK)[HOST] == "failed" and result["changed"] is True, result
    assert "option backup.local_directory: '" + str(folder / duplicate) in result["msg"]
    assert f"{HOST} has already changed" in result["msg"] and "Errno" not in result["msg"]
    assert [s["action"] for s in result["applied"] if s["status"] == "changed"] == ["backup", "remove"]
    [backup] = result["backups"]
    assert backup["thumbprint"] == duplicate and backup["remote_path"] in result["msg"]
    assert "local_path" not in backup
    # The pending entry the run journalled before the apply is still there for cert_restore.
    entries = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [(e["thumbprint"], e.get("pending")) for e in entries] == [(duplicate, True)]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{duplicate}.pfx", f"{duplicate}.cer", "manifest.json", ".manifest.lock"]
    ), "a temporary or half-written file was left beside the manifest"
