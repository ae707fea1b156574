"""The bad input catalogue through the real ansible-playbook: clear errors, no traceback, no change.

All cases run as tasks of one play with ``ignore_errors`` against one lab host
that is not compliant (missing intermediate: a wrongly accepted input would
change it). Inputs that must be accepted after normalisation run in check mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.lab import state_digest
from tests.lab.scenarios import PFX_PASSWORD
from tests.lab.state import read_json, write_json
from tests.reliability.bad_inputs import WRONG_PASSWORD, BadInput, catalogue, stranger_case, write_bad_files
from tests.reliability.case_lab import Case, CaseLab
from tests.reliability.plays import run_with_report
from tests.support.lab_plays import BACKUP_PASSWORD, compliance_play
from tests.support.playbook import run_playbook

pytestmark = [pytest.mark.lab]
SECRETS = (PFX_PASSWORD, WRONG_PASSWORD, BACKUP_PASSWORD)


def _task(case: BadInput) -> dict[str, Any]:
    task: dict[str, Any] = {"name": case.name, f"certwarden.exchange.{case.module}": case.args, "ignore_errors": True}
    if case.check_mode:
        task["check_mode"] = True
    return task


def _play(cases: list[BadInput]) -> list[dict[str, Any]]:
    return [{"hosts": "exchange", "gather_facts": False, "tasks": [_task(c) for c in cases]}]


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a password reached the output: {secret!r}"


def test_catalogue_of_bad_inputs(case_lab: CaseLab, tmp_path: Path) -> None:
    hosts = case_lab.write_cases([Case("missing-intermediate")], tmp_path / "hosts.yml")
    files = write_bad_files(case_lab.pki, tmp_path / "files")
    cases = catalogue(files, tmp_path / "backups", case_lab.pki)
    assert len(cases) >= 30
    before = state_digest(case_lab.dir)
    run = run_playbook(_play(cases), tmp_path / "hosts.yml", tmp_path / "run")
    assert "Traceback" not in run.output
    _assert_no_secret(run.output)
    [host] = hosts
    for case in cases:
        status = run.statuses(case.name).get(host)
        result = run.results(case.name)[host]
        message = str(result.get("msg") or "")
        _assert_no_secret(message)
        assert "Traceback" not in message and "exception" not in {k for k, v in result.items() if "Traceback" in str(v)}
        if case.expected == "ok":
            assert status == "ok", (case.name, message)
        else:
            assert status == "failed", (case.name, result)
            for words in case.expected:
                assert words in message, (case.name, words, message)
    assert state_digest(case_lab.dir) == before, "a bad input changed the server"


def test_intended_certificate_without_the_connector_fqdn_changes_nothing(case_lab: CaseLab, tmp_path: Path) -> None:
    hosts = case_lab.write_cases([Case("missing-intermediate")], tmp_path / "hosts.yml")
    files = write_bad_files(case_lab.pki, tmp_path / "files")
    case = stranger_case(files, tmp_path / "backups")
    before = state_digest(case_lab.dir)
    run = run_playbook(_play([case]), tmp_path / "hosts.yml", tmp_path / "run")
    [host] = hosts
    assert run.statuses(case.name)[host] == "failed"
    assert "mail.contoso.com" in run.results(case.name)[host]["msg"]
    assert state_digest(case_lab.dir) == before


def test_non_utf8_connector_name_from_the_server(case_lab: CaseLab, tmp_path: Path) -> None:
    """A receive connector whose name holds bytes that are not UTF-8 is reported, not a crash."""
    hosts = case_lab.write_cases([Case("healthy")], tmp_path / "hosts.yml")
    [host] = hosts
    org = case_lab.dir / "orgs" / f"org-{host.lower()}"
    connectors = read_json(org / "receive_connectors.json")
    odd = "Relay \udcff\udcfe " + host  # lone surrogates: what surrogateescape makes of bytes 0xFF 0xFE
    connectors.append({**connectors[0], "identity": f"{host}\\{odd}", "name": odd, "tls_certificate_name": None})
    write_json(org / "receive_connectors.json", connectors)
    before = state_digest(case_lab.dir)
    run = run_playbook(
        compliance_play(tmp_path / "backups", receive_connectors=["Default Frontend {{ certwarden_computer_name }}"]),
        tmp_path / "hosts.yml",
        tmp_path / "run",
        check=True,
    )
    assert "Traceback" not in run.output
    status = run.statuses("compliance")[host]
    result = run.results("compliance")[host]
    assert status in ("ok", "failed"), result
    if status == "failed":
        assert host in result["msg"] and "Traceback" not in result["msg"]
    assert state_digest(case_lab.dir) == before


@pytest.mark.parametrize("playbook", ["compliance.yml", "rollout.yml"])
def test_an_empty_exchange_group(playbook: str, tmp_path: Path) -> None:
    """A playbook aimed at an empty ``exchange`` group: Ansible's own message and exit code, no traceback."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    exchange:\n      hosts: {}\n", encoding="utf-8")
    run, report = run_with_report(playbook, inventory, tmp_path / "run")
    assert run.rc == 0, run.output[-3000:]  # what ansible-playbook gives for a play without hosts
    assert "no hosts matched" in run.output
    assert "Traceback" not in run.output and "ERROR" not in run.output
    assert report == {}  # nothing to report: the callback writes no file
