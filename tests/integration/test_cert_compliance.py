"""cert_compliance, cert_facts and cert_restore through the real ansible-playbook against the lab.

For every lab scenario: check mode reports the expected codes and leaves the
lab byte-identical; apply makes every host compliant; a following check finds
nothing; a second apply changes nothing; restore puts back exactly what was
removed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.lab import state_digest
from tests.support.lab_plays import COMPLIANCE_TASK, RESTORE_TASK, compliance_play, restore_play
from tests.support.playbook import PlaybookRun, run_playbook

pytestmark = pytest.mark.lab


def codes(result: dict[str, Any], key: str = "findings") -> set[str]:
    return {f["code"] for f in result.get(key) or []}


def error_codes(result: dict[str, Any], key: str = "findings") -> set[str]:
    return {f["code"] for f in result.get(key) or [] if f["severity"] == "error"}


def run_compliance(lab, tmp_path: Path, *, check: bool, name: str, **kwargs: Any) -> PlaybookRun:
    return run_playbook(
        compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / name, check=check, **kwargs
    )


# scenario -> {host: error codes the check must report}; unnamed hosts must be clean.
EXPECTED = {
    "healthy": {},
    "duplicate-no-key": {"EX02": {"duplicate_certificate", "wrong_certificate_presented"}},
    "imported-without-key": {"EX02": {"duplicate_certificate", "no_private_key"}},
    "duplicate-revoked": {"EX02": {"duplicate_certificate", "revoked"}},
    "missing-intermediate": {"EX02": {"incomplete_chain"}, "EX03": {"incomplete_chain"}},
    "service-unbound": {"EX02": {"service_not_enabled"}},
    "stale-connector": {
        "EX01": {"connector_mismatch", "hybrid_mismatch"},
        "EX02": {"connector_mismatch", "hybrid_mismatch"},
        "EX03": {"connector_mismatch", "hybrid_mismatch"},
    },
    "expiring": {"EX02": {"duplicate_certificate", "service_not_enabled"}},
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_check_apply_verify_restore(scenario: str, lab_factory, tmp_path: Path) -> None:
    lab = lab_factory(scenario)
    digest = state_digest(lab.dir)

    check = run_compliance(lab, tmp_path, check=True, name="check", diff=True)
    assert check.rc == 0, check.output
    results = check.results(COMPLIANCE_TASK)
    assert set(results) == set(lab.hosts)
    for host, result in results.items():
        wanted = EXPECTED[scenario].get(host, set())
        assert wanted <= error_codes(result), (host, result["findings"])
        if not wanted:
            assert result["compliant"], (host, result["findings"])
            assert result["plan"] == [] and result["changed"] is False, (host, result["plan"])
        else:
            assert result["changed"] is True and result["plan"], (host, result)
            assert "diff" in result and result["diff"]["before"] != result["diff"]["after"]
    assert state_digest(lab.dir) == digest, "check mode changed the lab"

    originals = {host: store_contents(lab, host) for host in lab.hosts}
    apply = run_compliance(lab, tmp_path, check=False, name="apply")
    assert apply.rc == 0, apply.output
    applied = apply.results(COMPLIANCE_TASK)
    for host, result in applied.items():
        assert result["compliant"], (host, result.get("findings_after"))
        assert error_codes(result, "findings_after") == set(), (host, result["findings_after"])
        assert result["changed"] is bool(EXPECTED[scenario].get(host)), (host, result)

    verify = run_compliance(lab, tmp_path, check=True, name="verify")
    for host, result in verify.results(COMPLIANCE_TASK).items():
        assert error_codes(result) == set() and result["plan"] == [], (host, result["findings"])

    again = run_compliance(lab, tmp_path, check=False, name="again")
    assert again.rc == 0, again.output
    assert all(r["changed"] is False for r in again.results(COMPLIANCE_TASK).values())

    removed = {host: [b["thumbprint"] for b in result.get("backups", [])] for host, result in applied.items()}
    if any(removed.values()):
        assert_restore_puts_back(lab, tmp_path, removed, originals)


def store_file(lab, host: str, thumbprint: str, store: str = "My") -> Path:
    return lab.host_dir(host) / "stores" / store / f"{thumbprint}.cer"


def store_contents(lab, host: str, store: str = "My") -> dict[str, tuple[bytes, bool]]:
    """thumbprint -> (DER bytes, has a private key) for every certificate in a host's store."""
    folder = lab.host_dir(host) / "stores" / store
    return {p.stem: (p.read_bytes(), p.with_suffix(".key").exists()) for p in folder.glob("*.cer")}


def assert_restore_puts_back(
    lab, tmp_path: Path, removed: dict[str, list[str]], originals: dict[str, dict[str, tuple[bytes, bool]]]
) -> None:
    for host, thumbprints in removed.items():
        for thumbprint in thumbprints:
            assert not store_file(lab, host, thumbprint).exists()
    play = restore_play(tmp_path / "backups")
    hosts = ",".join(h for h, t in removed.items() if t)
    check = run_playbook(play, lab.inventory_path, tmp_path / "restore-check", check=True, limit=hosts)
    assert check.rc == 0, check.output
    for host, result in check.results(RESTORE_TASK).items():
        assert sorted(r["thumbprint"] for r in result["restored"]) == sorted(removed[host])
        for thumbprint in removed[host]:
            assert not store_file(lab, host, thumbprint).exists(), "check mode restored"
    restore = run_playbook(play, lab.inventory_path, tmp_path / "restore", limit=hosts)
    assert restore.rc == 0, restore.output
    for host, thumbprints in removed.items():
        now = store_contents(lab, host)
        for thumbprint in thumbprints:
            assert now[thumbprint] == originals[host][thumbprint], f"{host} {thumbprint} not restored byte for byte"
    again = run_playbook(play, lab.inventory_path, tmp_path / "restore-again", limit=hosts)
    assert all(not r["changed"] for r in again.results(RESTORE_TASK).values())


def winrm_commands(lab, host: str) -> list[str]:
    """The kinds of every WinRM command the host has run (from the lab's request log)."""
    log = lab.host_dir(host) / "requests.log"
    if not log.exists():
        return []
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
    return [e["kind"] for e in entries if e["action"] == "command"]


def no_credentials_sessions(lab, host: str) -> int:
    folder = lab.host_dir(host) / "logs" / "SmtpSend"
    return sum(
        p.read_text(encoding="utf-8").count("TLS negotiation failed with error NoCredentials")
        for p in folder.glob("*.log")
    )


def test_seed_case_three_servers_one_keyless_duplicate(lab_factory, tmp_path: Path) -> None:
    """The field case end to end: only EX02 is broken, only its keyless copy goes, and NoCredentials stops."""
    lab = lab_factory("duplicate-no-key")
    ex02 = lab.record["hosts"]["EX02"]["thumbprints"]
    keyless, intended = ex02["keyless_copy"], ex02["intended"]
    assert no_credentials_sessions(lab, "EX02") == 0
    before_commands = {h: len(winrm_commands(lab, h)) for h in lab.hosts}

    check = run_compliance(lab, tmp_path, check=True, name="check")
    results = check.results(COMPLIANCE_TASK)
    assert [h for h, r in results.items() if not r["compliant"]] == ["EX02"]
    findings = results["EX02"]["findings"]
    [duplicate] = [f for f in findings if f["code"] == "duplicate_certificate"]
    assert keyless in json.dumps(duplicate["evidence"]) and intended in json.dumps(duplicate["evidence"])
    presented = [f for f in findings if f["code"] == "wrong_certificate_presented"]
    send = [f for f in presented if f["evidence"].get("identity") == "Outbound to Office 365"]
    assert send and keyless in send[0]["message"] and "may present" in send[0]["message"]
    plan = results["EX02"]["plan"]
    assert [(s["action"], s["params"]["thumbprint"]) for s in plan if s["action"] in ("backup", "remove")] == [
        ("backup", keyless),
        ("remove", keyless),
    ]
    # Check mode costs one WinRM command per server, a read.
    for host in lab.hosts:
        assert winrm_commands(lab, host)[before_commands[host] :] == ["read"], host
    # The lab's send connector logged the failure the check explains.
    assert no_credentials_sessions(lab, "EX02") >= 1

    originals = store_contents(lab, "EX02")
    marks = {h: len(winrm_commands(lab, h)) for h in lab.hosts}
    apply = run_compliance(lab, tmp_path, check=False, name="apply")
    assert apply.rc == 0, apply.output
    applied = apply.results(COMPLIANCE_TASK)
    assert [b["thumbprint"] for b in applied["EX02"]["backups"]] == [keyless]
    assert applied["EX02"]["backups"][0]["kind"] == "der"  # no private key to keep
    after = store_contents(lab, "EX02")
    assert set(originals) - set(after) == {keyless}, "apply removed something else"
    assert all(after[t] == originals[t] for t in after)
    # Apply costs a read + an apply that reads again on a changed server, a read on the others.
    assert winrm_commands(lab, "EX02")[marks["EX02"] :] == ["read", "apply"]
    assert winrm_commands(lab, "EX01")[marks["EX01"] :] == ["read"]

    logged = no_credentials_sessions(lab, "EX02")
    run_compliance(lab, tmp_path, check=True, name="after")  # another read: another simulated session
    assert no_credentials_sessions(lab, "EX02") == logged, "the send connector still fails with NoCredentials"


def test_cert_facts_reads_once_and_reports_store_wide_findings(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    keyless = lab.record["hosts"]["EX02"]["thumbprints"]["keyless_copy"]
    marks = {h: len(winrm_commands(lab, h)) for h in lab.hosts}
    play = [
        {"hosts": "exchange", "gather_facts": False, "tasks": [{"name": "facts", "certwarden.exchange.cert_facts": {}}]}
    ]
    run = run_playbook(play, lab.inventory_path, tmp_path / "facts", check=True)
    assert run.rc == 0, run.output
    results = run.results("facts")
    for host in lab.hosts:
        assert winrm_commands(lab, host)[marks[host] :] == ["read"]
        facts = results[host]["ansible_facts"]["certwarden_exchange"]
        assert facts["host"]["computer_name"] == host
        assert {c["thumbprint"] for c in facts["stores"]["My"]} >= {lab.record["hosts"][host]["intended"]}
        assert "der_b64" not in json.dumps(facts)
    assert {f["code"] for f in results["EX02"]["findings"]} >= {"duplicate_certificate"}
    assert results["EX01"]["findings"] == [] and results["EX01"]["compliant"] is True
    assert keyless in json.dumps(results["EX02"]["findings"])
