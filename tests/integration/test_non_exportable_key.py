"""A copy whose private key is not exportable: reported as such, removed only with backup.certificate_only.

duplicate-revoked, EX02: the old certificate (revoked by Exchange, with a private key) sits next to the
renewed one with the same issuer and subject; the plan backs it up and removes it. Here its key is marked
non-exportable (the lab's per-certificate ``exportable: false``, as a key imported without "Mark this key
as exportable"): Windows' Export-PfxCertificate refuses such a key, so even with backup.password the only
backup is the certificate, and removing it destroys the key for good.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lab import state_digest
from tests.support.lab_plays import BACKUP_PASSWORD, COMPLIANCE_TASK, compliance_play
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab
HOST = "EX02"


def _backup(tmp_path: Path, folder: str, **extra: object) -> dict:
    return {"local_directory": str(tmp_path / folder), "password": BACKUP_PASSWORD, **extra}


def test_a_non_exportable_key_is_removed_only_with_certificate_only(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-revoked")
    old = lab.record["hosts"][HOST]["thumbprints"]["revoked"]
    store = lab.host_dir(HOST) / "stores" / "My"
    meta = store / f"{old}.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "exportable": False}))
    before = state_digest(lab.dir)

    for mode, check in (("check", True), ("apply", False)):
        play = compliance_play(tmp_path / mode, backup=_backup(tmp_path, mode))
        run = run_playbook(play, lab.inventory_path, tmp_path / f"run-{mode}", check=check, limit=HOST)
        result = run.results(COMPLIANCE_TASK)[HOST]
        assert not [s for s in result["plan"] if s["action"] in ("backup", "remove")], (mode, result["plan"])
        [duplicate] = [f for f in result["findings"] if f["code"] == "duplicate_certificate"]
        [copy] = [c for c in duplicate["evidence"]["copies"] if c["thumbprint"] == old]
        assert copy["has_private_key"] is True
        reasons = duplicate["evidence"]["kept_bound"][old]
        assert any("private key is not exportable" in r and "backup.certificate_only" in r for r in reasons), reasons
        assert result["compliant"] is False
        assert state_digest(lab.dir) == before, mode
    assert run.statuses(COMPLIANCE_TASK)[HOST] == "failed"  # apply: not compliant, nothing it may do
    assert (store / f"{old}.key").exists()

    opted_in = compliance_play(tmp_path / "b", backup=_backup(tmp_path, "b", certificate_only=True))
    run = run_playbook(opted_in, lab.inventory_path, tmp_path / "run-opt-in", limit=HOST)
    final = run.results(COMPLIANCE_TASK)[HOST]
    assert final["changed"] is True and final["compliant"] is True, final
    [kept] = final["backups"]
    assert kept["kind"] == "der" and kept["thumbprint"] == old, kept
    assert not (store / f"{old}.cer").exists() and not (store / f"{old}.key").exists()
