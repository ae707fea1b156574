"""rollout.yml: a plain renewal (same issuer and subject), a subject change that retires the old certificate,
a refused unsafe repoint, a stop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fleet.conftest import LabStarter, run_playbook
from tests.lab import LabHandle
from tests.lab.generations import stage_previous_generation
from tests.lab.state import HostState

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _run_on_previous_certificate(lab: LabHandle) -> None:
    """Turn a healthy lab into "before the renewal": every server uses the previous certificate."""
    stage_previous_generation(lab.dir)


def _my(lab: LabHandle, name: str) -> set[str]:
    return {p.stem for p in (lab.host_dir(name) / "stores" / "My").glob("*.cer")}


def _org(lab: LabHandle, filename: str) -> object:
    return json.loads((lab.dir / "orgs" / "contoso" / filename).read_text())


def test_plain_renewal_enables_the_new_and_retires_the_old_on_every_server(
    fresh_lab: LabStarter, tmp_path: Path
) -> None:
    lab = fresh_lab("healthy")
    _run_on_previous_certificate(lab)
    connectors_before = _org(lab, "send_connectors.json")
    run = run_playbook(
        "rollout.yml",
        [lab.inventory_path],
        tmp_path / "report",
        extra_vars={"certwarden_backup_local_directory": str(tmp_path / "backups")},
    )
    assert run.returncode == 0, run.output[-4000:]
    pki = lab.record["pki"]
    for name in lab.hosts:
        assert pki["renewed"] in _my(lab, name)
        assert pki["leaf"] not in _my(lab, name)  # no duplicate left behind
        assert list((tmp_path / "backups" / name).glob(f"{pki['leaf']}.*")), name  # after a verified backup
    assert _org(lab, "send_connectors.json") == connectors_before  # the name did not change
    rollout = run.report["rollout"]
    assert rollout["stopped"] is False and rollout["not_reached"] == []
    assert rollout["batches_started"] == 3  # serial [1, "25%"] over three servers
    assert {s["status"] for s in run.report["servers"]} == {"compliant"}


def test_a_server_that_fails_verification_stops_the_rollout(fresh_lab: LabStarter, tmp_path: Path) -> None:
    lab = fresh_lab("healthy")
    _run_on_previous_certificate(lab)
    host = HostState(lab.host_dir("EX02"))
    host.write_org(
        "receive_connectors.json", [c for c in host.receive_connectors() if c["name"] != "Default Frontend EX02"]
    )
    run = run_playbook("rollout.yml", [lab.inventory_path], tmp_path / "report")
    assert run.returncode != 0
    rollout = run.report["rollout"]
    assert rollout["stopped"] is True
    assert rollout["stopped_on"] == ["EX02"]
    assert rollout["not_reached"] == ["EX03"]
    assert "cert_restore" in rollout["advice"]
    assert lab.record["pki"]["leaf"] in _my(lab, "EX03")  # untouched
    assert "EX02 failed verification" in run.output


def test_subject_change_stages_everywhere_repoints_once_then_retires_the_old(
    fresh_lab: LabStarter, tmp_path: Path
) -> None:
    lab = fresh_lab("stale-connector")
    old = lab.record["pki"]["leaf"]
    assert all(old in _my(lab, name) for name in lab.hosts)  # the replaced certificate, named by the connectors
    run = run_playbook(
        "rollout.yml",
        [lab.inventory_path],
        tmp_path / "report",
        extra_vars={"certwarden_backup_local_directory": str(tmp_path / "backups")},
    )
    assert run.returncode == 0, run.output[-4000:]
    for name in lab.hosts:
        assert lab.record["pki"]["rebranded"] in _my(lab, name)
        assert old not in _my(lab, name)  # retired once nothing named it
        assert list((tmp_path / "backups" / name).glob(f"{old}.*")), name  # after a verified backup
    rebranded = lab.record["tls_certificate_names"]["rebranded"]
    assert [c["tls_certificate_name"] for c in _org(lab, "send_connectors.json")] == [rebranded]
    assert _org(lab, "hybrid.json")["tls_certificate_name"] == rebranded
    repoints = [
        check
        for server in run.report["servers"]
        for check in server["checks"]
        if "Repoint the send connectors" in check["task"] and check["changed"]
    ]
    assert len(repoints) == 1  # organisation-wide: once, not once per server
    check = run_playbook("compliance.yml", [lab.inventory_path], tmp_path / "check")
    assert {s["status"] for s in check.report["servers"]} == {"compliant"}


def test_subject_change_refuses_to_repoint_while_a_sender_lacks_the_certificate(
    fresh_lab: LabStarter, tmp_path: Path
) -> None:
    lab = fresh_lab("stale-connector")
    ex03 = HostState(lab.host_dir("EX03"))
    ex03.remove_certificate("My", lab.record["pki"]["rebranded"])
    # Only the send connector's own SourceTransportServers name EX03: the hybrid configuration does not.
    ex03.write_org("hybrid.json", dict(_org(lab, "hybrid.json"), sending_transport_servers=["EX01", "EX02"]))
    assert [c["source_transport_servers"] for c in _org(lab, "send_connectors.json")] == [["EX01", "EX02", "EX03"]]
    before = _org(lab, "send_connectors.json"), _org(lab, "hybrid.json")
    run = run_playbook("rollout.yml", [lab.inventory_path], tmp_path / "report", limit="EX01,EX02")
    assert run.returncode != 0
    assert "454 4.7.5" in run.output and "EX03" in run.output
    assert (_org(lab, "send_connectors.json"), _org(lab, "hybrid.json")) == before
    assert all(lab.record["pki"]["leaf"] in _my(lab, name) for name in lab.hosts)  # nothing retired either
