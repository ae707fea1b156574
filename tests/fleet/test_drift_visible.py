"""The nightly run and the gate in plain Ansible output (no callback, no -v): drift is named, the exit status
follows certwarden_fail_on, and each server is read once."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.fleet.conftest import PLAYBOOK_BIN, REPO, LabStarter
from tests.fleet.test_compliance_run import BROKEN
from tests.lab import LabHandle, state_digest

pytestmark = [pytest.mark.lab, pytest.mark.slow]
THUMBPRINT = re.compile(r"\b[0-9A-F]{40}\b")
# One line of a verdict's "drift" list, as the default callback prints it: "host: code: message".
DRIFT_LINE = re.compile(r'^\s+"([a-z-]+: [a-z_]+(?: \(warning\))?: .*)",?$', re.M)


def plain_run(
    playbook: str, inventories: list[Path], *extra: str, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """ansible-playbook as a user runs it: no report callback, default verbosity, Ansible's default result format."""
    command = [str(PLAYBOOK_BIN), str(REPO / "playbooks" / playbook), *extra]
    for inventory in inventories:
        command += ["-i", str(inventory)]
    run_env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORKS": "5"}
    run_env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    run_env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    done = subprocess.run(
        command, cwd=REPO, env={**run_env, **(env or {})}, capture_output=True, text=True, timeout=240, check=False
    )
    return done.returncode, done.stdout + done.stderr


def commands_per_host(lab: LabHandle) -> dict[str, int]:
    counts = {}
    for host in lab.hosts:
        log = lab.dir / "hosts" / host / "requests.log"
        entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        counts[host] = sum(1 for e in entries if e["action"] == "command")
    return counts


def read_log_marks(lab: LabHandle) -> dict[str, int]:
    return commands_per_host(lab)


@pytest.fixture(scope="module")
def nightly(field_lab: LabHandle) -> tuple[int, str, dict[str, int]]:
    before = read_log_marks(field_lab)
    rc, output = plain_run("compliance.yml", [field_lab.inventory_path])
    after = read_log_marks(field_lab)
    return rc, output, {h: after[h] - before[h] for h in field_lab.hosts}


def test_the_nightly_run_fails_naming_every_drifting_server_and_its_codes(
    nightly: tuple[int, str, dict[str, int]],
) -> None:
    rc, output, _counts = nightly
    assert rc == 2, output[-3000:]
    for host in BROKEN:
        assert re.search(rf'^fatal: \[{host}\]: FAILED!.*?"msg": "{host} drifts: [a-z_, ]+"', output, re.M | re.S), host
    # "Only a person can resolve this" (no private key) is no longer swallowed.
    assert re.search(r"imported-without-key drifts: [a-z_, ]*no_private_key", output)
    assert re.search(r"imported-without-key: no_private_key: the intended certificate [0-9A-F]{8}\.\.\. \(CN=", output)
    assert "stale-connector: connector_mismatch: send connector Outbound to Office 365" in output
    assert "healthy drifts" not in output


def test_no_drifting_server_is_shown_ok_and_names_are_short(nightly: tuple[int, str, dict[str, int]]) -> None:
    _rc, output, _counts = nightly
    check = output.split("TASK [certwarden.exchange.compliance : Compare the server", 1)[1].split("TASK [", 1)[0]
    for host in BROKEN:
        assert f"changed: [{host}]" in check, host
        assert f"ok: [{host}]" not in output.split("TASK [certwarden.exchange.compliance : Compare", 1)[1], host
    assert "ok: [healthy]" in check
    drift_lines = DRIFT_LINE.findall(output)
    assert drift_lines
    assert not any(THUMBPRINT.search(line) for line in drift_lines)
    assert "L=Redmond" not in output and "S=Washington" not in output


def test_the_nightly_run_reads_each_server_once(nightly: tuple[int, str, dict[str, int]]) -> None:
    _rc, _output, counts = nightly
    assert counts == dict.fromkeys(counts, 1)


def test_fail_on_never_only_reports(field_lab: LabHandle) -> None:
    before = state_digest(field_lab.dir)
    rc, output = plain_run("compliance.yml", [field_lab.inventory_path], "-e", "certwarden_fail_on=never")
    assert rc == 0, output[-3000:]
    judged = output.split("TASK [certwarden.exchange.compliance : Judge", 1)[1]
    for host in BROKEN:
        assert f"changed: [{host}]" in judged, host
        assert f"{host} drifts (below certwarden_fail_on=never)" in judged, host
    assert state_digest(field_lab.dir) == before


def test_fail_on_warning_fails_on_a_warning_alone(fresh_lab: LabStarter) -> None:
    lab = fresh_lab("healthy", hosts=1)
    # The healthy certificate expires in about three years: a ten-year window makes it a warning, nothing more.
    window = ["-e", "certwarden_expiry_warning_days=3650"]
    rc, output = plain_run("compliance.yml", [lab.inventory_path], *window)
    assert rc == 0, output[-3000:]
    assert "drifts (below certwarden_fail_on=error): expiring_soon" in output
    rc, output = plain_run("compliance.yml", [lab.inventory_path], *window, "-e", "certwarden_fail_on=warning")
    assert rc == 2, output[-3000:]
    assert re.search(r"\[\w+\]: FAILED!", output) and ": expiring_soon (warning): " in output


def test_the_callback_sets_the_exit_status_of_any_playbook(field_lab: LabHandle, tmp_path: Path) -> None:
    playbook = tmp_path / "own.yml"
    playbook.write_text(
        "- hosts: exchange\n  gather_facts: false\n  tasks:\n"
        "    - name: check\n      certwarden.exchange.cert_compliance:\n"
        "        certificate: {thumbprint: '{{ certwarden_intended_thumbprint }}'}\n      check_mode: true\n"
        "      failed_when: false\n",
        encoding="utf-8",
    )
    report = tmp_path / "report"
    callback = {
        "ANSIBLE_CALLBACKS_ENABLED": "certwarden.exchange.compliance_report",
        "CERTWARDEN_REPORT_DIR": str(report),
    }
    rc, output = plain_run(str(playbook), [field_lab.inventory_path], env=callback)
    assert rc == 0, output[-2000:]
    rc, output = plain_run(str(playbook), [field_lab.inventory_path], env={**callback, "CERTWARDEN_FAIL_ON": "error"})
    assert rc == 2, output[-2000:]
    assert "drift at or above fail_on=error: " in output
    written = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert written["summary"]["drifting"] == len(BROKEN)
    rc, output = plain_run(str(playbook), [field_lab.inventory_path], env={**callback, "CERTWARDEN_FAIL_ON": "always"})
    assert "Valid values are: error, warning, never" in output


def test_the_gate_prints_each_failure_once_and_reads_each_server_once(field_lab: LabHandle) -> None:
    before = read_log_marks(field_lab)
    rc, output = plain_run("gate.yml", [field_lab.inventory_path])
    after = read_log_marks(field_lab)
    assert rc == 2, output[-3000:]
    assert {h: after[h] - before[h] for h in field_lab.hosts} == dict.fromkeys(field_lab.hosts, 1)
    lines = DRIFT_LINE.findall(output)
    assert lines
    for line in set(lines):
        assert output.count(line) == 1, line
    assert "expiring: expiring_soon: " in output
    assert re.search(r"The renewal gate failed on 8 of 9 server\(s\): ", output)
    assert not any(THUMBPRINT.search(line) for line in lines)


def test_the_gate_passes_visibly_on_the_group_it_is_given(field_lab: LabHandle, tmp_path: Path) -> None:
    group = tmp_path / "group.yml"
    group.write_text("mailhubs:\n  hosts:\n    healthy: {}\n", encoding="utf-8")
    rc, output = plain_run("gate.yml", [field_lab.inventory_path, group], "-e", "certwarden_gate_hosts=mailhubs")
    assert rc == 0, output[-3000:]
    assert "The renewal gate passed on 1 server(s)." in output


def test_an_endpoint_that_cannot_be_probed_fails_the_server_by_name(fresh_lab: LabStarter, tmp_path: Path) -> None:
    lab = fresh_lab("healthy", hosts=1)
    report = tmp_path / "report"
    callback = {
        "ANSIBLE_CALLBACKS_ENABLED": "certwarden.exchange.compliance_report",
        "CERTWARDEN_REPORT_DIR": str(report),
    }
    # Port 1 on the loopback address: nothing listens, the connection is refused at once.
    closed = ["-e", "certwarden_probe_https_port=1", "-e", "certwarden_fail_on=never"]
    rc, output = plain_run("compliance.yml", [lab.inventory_path], *closed, env=callback)
    assert rc == 2, output[-3000:]
    assert re.search(r"FAILED!.*could not be probed: smtp_tls_probe: .*:1\b", output), output[-3000:]
    server = json.loads((report / "report.json").read_text(encoding="utf-8"))["servers"][0]
    assert server["status"] == "failed"
    assert [error["msg"].startswith("smtp_tls_probe: ") for error in server["errors"]] == [True]
    assert [row["protocol"] for row in server["wire"]] == ["SMTP"]


def test_certwarden_probe_host_names_the_address_probed(fresh_lab: LabStarter, tmp_path: Path) -> None:
    """Empty by default (the address Ansible connects to, which the other tests probe); set, it is used instead.
    The lab listens on 127.0.0.1 only, so 127.0.0.2 (loopback too, on Linux) refuses at once and is named."""
    lab = fresh_lab("healthy", hosts=1)
    elsewhere = ["-e", "certwarden_probe_host=127.0.0.2", "-e", "certwarden_fail_on=never"]
    rc, output = plain_run("compliance.yml", [lab.inventory_path], *elsewhere)
    assert rc == 2, output[-3000:]
    assert re.search(r"FAILED!.*could not be probed: smtp_tls_probe: [^\n]*127\.0\.0\.2:\d+", output), output[-3000:]
    assert "127.0.0.1:" not in output.split("TASK [certwarden.exchange.compliance : Judge", 1)[1]
