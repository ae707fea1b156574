"""Faults during a rollout and in the nightly run, through the real playbooks and the fleet report.

Issue 8: auth refused, a stall past the WinRM timeouts, truncated and malformed
agent output, and a server that disappears mid-rollout must each give a clear
per-host failure; the other servers of the batch finish, the rollout stops
before the next batch, and report.json tells unreachable from failed from
drifting servers. A rerun after the faults are cleared converges.

Every case host starts on the previous certificate (``before-renewal``), so a
server that was reached is visibly changed and one that was not is visibly not.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.lab.observer import read_observations
from tests.reliability.case_lab import BEFORE_RENEWAL, Case, CaseLab, store_contents
from tests.reliability.plays import run_with_report

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# Short WinRM timeouts for the host that stalls, so the test waits seconds, not the default minute.
SHORT_TIMEOUTS = {"ansible_winrm_operation_timeout_sec": 2, "ansible_winrm_read_timeout_sec": 4}
STALL_SECONDS = 8
# Preflight is two tasks (cert_facts, a check-mode cert_compliance), one WinRM shell each:
# a fault armed after two shells strikes the host's first task of its batch.
AFTER_PREFLIGHT = 2


def _report_text(workdir: Path) -> str:
    return (workdir / "report" / "report.json").read_text(encoding="utf-8")


def _servers(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {server["name"]: server for server in report["servers"]}


def _why(server: dict[str, Any]) -> str:
    """The message the report gives for a server that did not make it."""
    return server["unreachable"] or "; ".join(error["msg"] for error in server["errors"])


def _kinds(case_lab: CaseLab, host: str) -> list[str]:
    """The agent operations a host ran, in order, from its request log."""
    log = case_lab.host_dir(host) / "requests.log"
    entries = [json.loads(line) for line in log.read_text(encoding="ascii").splitlines()]
    return [e["kind"] for e in entries if e["action"] == "command"]


def _actions(case_lab: CaseLab, host: str) -> list[str]:
    log = case_lab.host_dir(host) / "requests.log"
    return [json.loads(line)["action"] for line in log.read_text(encoding="ascii").splitlines()]


def _dead_port() -> int:
    """A port nobody listens on: the server is gone."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# label -> (fault, inventory vars, report status, words the message must hold)
MID_ROLLOUT: dict[str, tuple[dict[str, Any], dict[str, Any] | None, str, tuple[str, ...]]] = {
    "auth refused": (
        {"refuse_auth": True, "after_shells": AFTER_PREFLIGHT},
        None,
        "unreachable",
        ("credentials were rejected",),
    ),
    "stalled": (
        {"stall_seconds": STALL_SECONDS, "operation": "apply"},
        SHORT_TIMEOUTS,
        "unreachable",
        ("apply", "lost the connection", "timed out"),
    ),
    "truncated": ({"truncate_output": True, "operation": "apply"}, None, "failed", ("apply", "truncated output")),
    "malformed": ({"malformed_output": True, "operation": "apply"}, None, "failed", ("apply", "malformed output")),
    # Every answer to the apply is a closed connection: the server went away after the preflight.
    "disappeared": ({"drop_before_step": 1, "operation": "apply"}, None, "unreachable", ("lost the connection",)),
}


def test_faults_in_a_batch_fail_those_servers_the_rest_finish_the_next_batch_never_starts(
    case_lab: CaseLab, tmp_path: Path
) -> None:
    faulty = [
        Case(BEFORE_RENEWAL, fault, label, host_vars)
        for label, (fault, host_vars, _status, _words) in MID_ROLLOUT.items()
    ]
    fine = [Case(BEFORE_RENEWAL, label=f"batch 1 #{n}") for n in (1, 2)]
    later = [Case(BEFORE_RENEWAL, label=f"batch 2 #{n}") for n in (1, 2)]
    inventory = tmp_path / "hosts.yml"
    hosts = case_lab.write_cases([*faulty, *fine, *later], inventory)
    by_label = {case.label: name for name, case in hosts.items()}
    first_batch = len(faulty) + len(fine)
    pki = case_lab.pki
    before = {name: store_contents(case_lab.host_dir(name)) for name in hosts}
    serial = {"certwarden_rollout_serial": [first_batch, len(later)]}

    run, report = run_with_report("rollout.yml", inventory, tmp_path / "faulty", extra_vars=serial)

    assert run.rc != 0
    assert "Traceback" not in run.output and "Traceback" not in _report_text(tmp_path / "faulty")
    servers = _servers(report)
    for label, (_fault, _host_vars, status, words) in MID_ROLLOUT.items():
        name = by_label[label]
        server = servers[name]
        assert server["status"] == status, (label, server["status"], _why(server))
        message = _why(server)
        assert name in message and "Traceback" not in message, (label, message)
        for word in words:
            assert word in message, (label, word, message)
    assert "unauthorized" in _actions(case_lab, by_label["auth refused"])  # the lab did refuse, mid-run
    assert _kinds(case_lab, by_label["auth refused"]) == ["read", "read"]  # preflight passed, nothing after

    for case in fine:
        name = by_label[case.label]
        assert servers[name]["status"] == "compliant" and servers[name]["changed"], (name, _why(servers[name]))
        my = store_contents(case_lab.host_dir(name))
        assert pki.renewed.thumbprint in my and pki.leaf.thumbprint not in my, name

    for case in later:
        name = by_label[case.label]
        assert "apply" not in _kinds(case_lab, name), f"{name} was in the next batch but was changed"
        assert store_contents(case_lab.host_dir(name)) == before[name]

    rollout = report["rollout"]
    assert rollout["stopped"] is True and rollout["batches_started"] == 1
    assert rollout["stopped_on"] == sorted(by_label[label] for label in MID_ROLLOUT)
    assert rollout["completed"] == sorted(by_label[c.label] for c in fine)
    assert rollout["not_reached"] == sorted(by_label[c.label] for c in later)
    summary = report["summary"]
    assert (summary["unreachable"], summary["failed"], summary["compliant"], summary["drifting"]) == (3, 2, 2, 2)
    for name in hosts:  # whatever was cut, no reference ever pointed at a missing certificate
        assert all(seen["dangling"] == [] for seen in read_observations(case_lab.host_dir(name))), name

    # Clear the faults and run again: every server ends on the renewed certificate, the old one retired.
    for name in hosts:
        (case_lab.host_dir(name) / "faults.json").unlink(missing_ok=True)
    rerun, report = run_with_report("rollout.yml", inventory, tmp_path / "rerun", extra_vars=serial)
    assert rerun.rc == 0, rerun.output[-3000:]
    assert report["rollout"]["stopped"] is False and report["rollout"]["not_reached"] == []
    assert {s["status"] for s in report["servers"]} == {"compliant"}
    for name in hosts:
        my = store_contents(case_lab.host_dir(name))
        assert pki.renewed.thumbprint in my and pki.leaf.thumbprint not in my, name


def test_a_server_refusing_auth_at_preflight_stops_the_rollout_before_any_change(
    case_lab: CaseLab, tmp_path: Path
) -> None:
    cases = [Case(BEFORE_RENEWAL, {"refuse_auth": True}, "refused"), Case(BEFORE_RENEWAL), Case(BEFORE_RENEWAL)]
    inventory = tmp_path / "hosts.yml"
    hosts = case_lab.write_cases(cases, inventory)
    refused = next(name for name, case in hosts.items() if case.label == "refused")
    before = {name: store_contents(case_lab.host_dir(name)) for name in hosts}

    run, report = run_with_report("rollout.yml", inventory, tmp_path / "run")

    assert run.rc != 0 and "Traceback" not in run.output
    servers = _servers(report)
    assert servers[refused]["status"] == "unreachable"
    assert refused in _why(servers[refused]) and "credentials were rejected" in _why(servers[refused])
    for name in hosts:
        assert "apply" not in _kinds(case_lab, name), name
        assert store_contents(case_lab.host_dir(name)) == before[name], name
    # Preflight is any_errors_fatal: no batch reached a server, and the report counts no batch.
    rollout = report["rollout"]
    assert rollout is None or (rollout["stopped"] and rollout["completed"] == [] and rollout["batches_started"] == 0), (
        rollout
    )
    if rollout is not None:
        assert refused not in rollout["not_reached"] and rollout["advice"].count(refused) <= 2, rollout
    assert all(servers[name]["status"] != "unreachable" for name in hosts if name != refused)


# label -> (case kind, fault, inventory vars, report status, words the message must hold)
NIGHTLY: dict[str, tuple[str, dict[str, Any] | None, dict[str, Any] | None, str, tuple[str, ...]]] = {
    "auth refused": ("healthy", {"refuse_auth": True}, None, "unreachable", ("credentials were rejected",)),
    "stalled": (
        "healthy",
        {"stall_seconds": STALL_SECONDS, "operation": "read"},
        SHORT_TIMEOUTS,
        "unreachable",
        ("read", "lost the connection", "timed out"),
    ),
    "truncated": ("healthy", {"truncate_output": True, "operation": "read"}, None, "failed", ("truncated output",)),
    "malformed": ("healthy", {"malformed_output": True, "operation": "read"}, None, "failed", ("malformed output",)),
    "gone": ("healthy", None, {"ansible_port": 0}, "unreachable", ("lost the connection",)),
    "drifting": ("duplicate-no-key", None, None, "drifting", ()),
    "healthy": ("healthy", None, None, "compliant", ()),
}


def test_nightly_report_tells_unreachable_from_failed_from_drifting(case_lab: CaseLab, tmp_path: Path) -> None:
    cases = []
    for label, (kind, fault, host_vars, _status, _words) in NIGHTLY.items():
        gone = bool(host_vars and host_vars.get("ansible_port") == 0)
        cases.append(Case(kind, fault, label, {"ansible_port": _dead_port()} if gone else host_vars))
    inventory = tmp_path / "hosts.yml"
    hosts = case_lab.write_cases(cases, inventory)

    run, report = run_with_report("compliance.yml", inventory, tmp_path / "run")

    assert "Traceback" not in run.output and "Traceback" not in _report_text(tmp_path / "run")
    servers = _servers(report)
    for name, case in hosts.items():
        *_case, status, words = NIGHTLY[case.label]
        server = servers[name]
        assert server["status"] == status, (case.label, server["status"], _why(server))
        if status in ("unreachable", "failed"):
            message = _why(server)
            assert name in message, (case.label, message)
            for word in words:
                assert word in message, (case.label, word, message)
    drifting = servers[next(n for n, c in hosts.items() if c.label == "drifting")]
    assert "duplicate_certificate" in {f["code"] for f in drifting["findings"] if f["severity"] == "error"}, drifting
    summary = report["summary"]
    assert (summary["unreachable"], summary["failed"], summary["drifting"], summary["compliant"]) == (3, 2, 1, 1)
