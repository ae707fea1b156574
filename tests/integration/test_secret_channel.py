"""Secrets over a channel nobody verified: a warning once per host, or, asked for, a refusal before any change.

The lab's default hosts speak WinRM over plain HTTP with basic authentication
(no message encryption), its HTTPS hosts validate the server certificate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab import state_digest
from tests.support.lab_plays import COMPLIANCE_TASK, compliance_play
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab
HOST = "EX02"  # duplicate-no-key: the plan backs up (with the backup password) and removes


def test_plain_http_warns_once_and_still_applies(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    run = run_playbook(compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "apply", limit=HOST)
    result = run.results(COMPLIANCE_TASK)[HOST]
    assert run.statuses(COMPLIANCE_TASK)[HOST] == "ok" and result["changed"] is True, result
    [warning] = result["warnings"]
    assert f"the backup password would travel to {HOST} over plain HTTP without message encryption" in warning
    assert run.output.count("would travel to") == 1


def test_insecure_channel_fail_refuses_before_any_change(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    before = state_digest(lab.dir)
    play = compliance_play(tmp_path / "backups", insecure_channel="fail")
    run = run_playbook(play, lab.inventory_path, tmp_path / "apply", limit=HOST)
    result = run.results(COMPLIANCE_TASK)[HOST]
    assert run.statuses(COMPLIANCE_TASK)[HOST] == "failed" and result["changed"] is False
    assert result["msg"].startswith("option insecure_channel: the backup password would travel to EX02 over plain")
    assert state_digest(lab.dir) == before
    # Check mode sends no secret: nothing to refuse.
    check = run_playbook(play, lab.inventory_path, tmp_path / "check", limit=HOST, check=True)
    checked = check.results(COMPLIANCE_TASK)[HOST]
    assert check.statuses(COMPLIANCE_TASK)[HOST] == "ok" and checked["changed"] is True
    assert not checked.get("warnings")


def test_https_with_validation_is_quiet_and_without_it_warns(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key", https=True)
    play = compliance_play(tmp_path / "backups", insecure_channel="fail")
    ignored = run_playbook(
        play,
        lab.inventory_path,
        tmp_path / "ignore",
        limit=HOST,
        extra_vars={"ansible_winrm_server_cert_validation": "ignore"},
    )
    message = ignored.results(COMPLIANCE_TASK)[HOST]["msg"]
    assert "over HTTPS without server certificate validation" in message
    validated = run_playbook(play, lab.inventory_path, tmp_path / "validate", limit=HOST)
    result = validated.results(COMPLIANCE_TASK)[HOST]
    assert validated.statuses(COMPLIANCE_TASK)[HOST] == "ok" and result["changed"] is True, result
    assert not result.get("warnings")
