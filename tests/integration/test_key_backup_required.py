"""A private key is never destroyed by a removal without the user saying so.

imported-without-key, EX02: the old certificate (``leaf``, with an exportable
key) is still bound; the plan moves everything to the renewed one and removes
the old copy. Without backup.password its backup could only be the DER.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.lab_plays import COMPLIANCE_TASK, compliance_args
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab
HOST = "EX02"


def _play(backup: dict) -> list[dict]:
    args = compliance_args(Path("unused"))
    return [
        {
            "hosts": "exchange",
            "gather_facts": False,
            "tasks": [{"name": COMPLIANCE_TASK, "certwarden.exchange.cert_compliance": {**args, "backup": backup}}],
        }
    ]


def test_a_copy_with_a_key_stays_without_a_pfx_backup_unless_certificate_only(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("imported-without-key")
    store = lab.host_dir(HOST) / "stores" / "My"
    keyed_before = {p.stem for p in store.glob("*.cer") if p.with_suffix(".key").exists()}

    check = run_playbook(
        _play({"local_directory": str(tmp_path / "b1")}), lab.inventory_path, tmp_path / "check", check=True, limit=HOST
    )
    result = check.results(COMPLIANCE_TASK)[HOST]
    assert not [s for s in result["plan"] if s["action"] == "remove"], result["plan"]
    [duplicate] = [f for f in result["findings"] if f["code"] == "duplicate_certificate"]
    [(old, reasons)] = duplicate["evidence"]["kept_bound"].items()
    assert old in keyed_before
    assert any("backup.password is not set" in r and "backup.certificate_only" in r for r in reasons), reasons

    apply = run_playbook(
        _play({"local_directory": str(tmp_path / "b2")}), lab.inventory_path, tmp_path / "apply", limit=HOST
    )
    applied = apply.results(COMPLIANCE_TASK)[HOST]
    assert apply.statuses(COMPLIANCE_TASK)[HOST] == "failed" and applied["compliant"] is False
    assert (store / f"{old}.key").exists(), "the private key was destroyed"

    opted_in = {"local_directory": str(tmp_path / "b3"), "certificate_only": True}
    run = run_playbook(_play(opted_in), lab.inventory_path, tmp_path / "opt-in", limit=HOST)
    final = run.results(COMPLIANCE_TASK)[HOST]
    assert final["compliant"] is True, final.get("findings_after")
    assert [b["kind"] for b in final["backups"]] == ["der"] and not (store / f"{old}.cer").exists()
