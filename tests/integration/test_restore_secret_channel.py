"""cert_restore sends PFX backups and their password: over a channel nobody verified it warns once, or refuses.

duplicate-revoked, EX02: cert_compliance removes the revoked old certificate (it has an exportable key) after a
PFX backup; cert_restore puts it back with its key, so the PFX and the backup password travel to the server.
The lab's default hosts speak WinRM over plain HTTP with basic authentication (no message encryption).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.lab import state_digest
from tests.lab.state import write_json
from tests.support.lab_plays import BACKUP_PASSWORD, COMPLIANCE_TASK, RESTORE_TASK, compliance_play
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab
HOST = "EX02"


def _restore(src: Path, **options: str) -> list[dict]:
    args = {"src": str(src), "password": BACKUP_PASSWORD, **options}
    return [
        {
            "hosts": "exchange",
            "gather_facts": False,
            "tasks": [{"name": RESTORE_TASK, "certwarden.exchange.cert_restore": args}],
        }
    ]


def _refused_with_fail(lab: Any, backups: Path, run_dir: Path, carried: str) -> None:
    """``insecure_channel: fail`` stops the restore before anything is sent: failed, unchanged, the server as it was."""
    before = state_digest(lab.dir)
    refused = run_playbook(_restore(backups, insecure_channel="fail"), lab.inventory_path, run_dir, limit=HOST)
    result = refused.results(RESTORE_TASK)[HOST]
    assert refused.statuses(RESTORE_TASK)[HOST] == "failed" and result["changed"] is False, result
    expected = f"option insecure_channel: {carried} would travel to {HOST} over plain HTTP without message encryption"
    assert result["msg"].startswith(expected), result["msg"]
    assert state_digest(lab.dir) == before


def test_restore_over_plain_http_refuses_with_fail_and_warns_once_by_default(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-revoked")
    old = lab.record["hosts"][HOST]["thumbprints"]["revoked"]
    backups = tmp_path / "backups"
    removed = run_playbook(compliance_play(backups), lab.inventory_path, tmp_path / "remove", limit=HOST)
    assert removed.results(COMPLIANCE_TASK)[HOST]["backups"][0]["kind"] == "pfx"
    my = lab.host_dir(HOST) / "stores" / "My"
    assert not (my / f"{old}.cer").exists()
    _refused_with_fail(lab, backups, tmp_path / "fail", "the PFX and its password")

    checked = run_playbook(_restore(backups), lab.inventory_path, tmp_path / "check", limit=HOST, check=True)
    assert checked.results(RESTORE_TASK)[HOST]["changed"] is True
    assert not checked.results(RESTORE_TASK)[HOST].get("warnings")

    restored = run_playbook(_restore(backups), lab.inventory_path, tmp_path / "warn", limit=HOST)
    result = restored.results(RESTORE_TASK)[HOST]
    assert result["changed"] is True and result["restored"] == [{"thumbprint": old, "store": "My", "kind": "pfx"}]
    [warning] = result["warnings"]
    assert f"the PFX and its password would travel to {HOST} over plain HTTP" in warning
    assert "insecure_channel: fail" in warning
    assert restored.output.count("would travel to") == 1
    assert (my / f"{old}.cer").exists() and (my / f"{old}.key").exists()


def test_fetching_an_interrupted_runs_backup_follows_the_same_rule(lab_factory, tmp_path: Path) -> None:
    """A run cut off after its backup step left the PFX on the server and a pending entry in the manifest.
    cert_restore fetches that backup with the backup password, so the fetch is refused with ``fail`` before
    anything is sent, and warned about once by default."""
    lab = lab_factory("duplicate-revoked")
    old = lab.record["hosts"][HOST]["thumbprints"]["revoked"]
    backups = tmp_path / "backups"
    checked = run_playbook(compliance_play(backups), lab.inventory_path, tmp_path / "plan", limit=HOST, check=True)
    plan = checked.results(COMPLIANCE_TASK)[HOST]["plan"]
    [backup_step] = [index for index, step in enumerate(plan, start=1) if step["action"] == "backup"]
    fault = {"drop_after_step": backup_step, "operation": "apply", "once": True}
    write_json(lab.host_dir(HOST) / "faults.json", fault)
    cut = run_playbook(compliance_play(backups), lab.inventory_path, tmp_path / "cut", limit=HOST)
    assert cut.statuses(COMPLIANCE_TASK)[HOST] != "ok", cut.output[-3000:]
    entries = json.loads((backups / HOST / "manifest.json").read_text(encoding="utf-8"))
    assert [(entry["thumbprint"], entry.get("pending")) for entry in entries] == [(old, True)]
    assert not (backups / HOST / f"{old}.pfx").exists()
    _refused_with_fail(lab, backups, tmp_path / "fail", "the backup password")
    assert not (backups / HOST / f"{old}.pfx").exists(), "the backup was fetched although the channel was refused"

    fetched = run_playbook(_restore(backups), lab.inventory_path, tmp_path / "warn", limit=HOST)
    result = fetched.results(RESTORE_TASK)[HOST]
    assert fetched.statuses(RESTORE_TASK)[HOST] != "failed", fetched.output[-3000:]
    [warning] = result["warnings"]
    assert f"the backup password would travel to {HOST} over plain HTTP" in warning
    assert fetched.output.count("would travel to") == 1
    assert (backups / HOST / f"{old}.pfx").is_file(), "the interrupted run's backup was not fetched"
