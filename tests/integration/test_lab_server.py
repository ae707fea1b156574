"""The simulated lab, driven as a real server is: pywinrm directly, and ansible-playbook + ansible.builtin.raw."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from winrm.exceptions import InvalidCredentialsError

from tests.lab import LabHandle, state_digest
from tests.lab.client import LabClient
from tests.lab.state import write_json

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
BACKUP_DIR = "C:\\ProgramData\\certwarden\\backup"


def _requests(lab: LabHandle, host: str) -> list[dict[str, Any]]:
    path = lab.host_dir(host) / "requests.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _by_thumb(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["thumbprint"]: e for e in entries}


def _pfx_b64(lab: LabHandle, label: str) -> str:
    return base64.b64encode((lab.dir / "pki" / f"{label}.pfx").read_bytes()).decode()


def _send_log(lab: LabHandle, host: str) -> str:
    return "".join(p.read_bytes().decode() for p in sorted((lab.host_dir(host) / "logs" / "SmtpSend").glob("*.log")))


def _last_session(log: str) -> list[str]:
    lines = [line for line in log.splitlines() if line and not line.startswith("#")]
    last_id = lines[-1].split(",")[2]
    return [line for line in lines if line.split(",")[2] == last_id]


@pytest.fixture(scope="module")
def dup_lab(module_lab_factory: Any) -> LabHandle:
    return module_lab_factory("imported-without-key")


# PowerShell-like answers ----------------------------------------------------------------
def test_raw_commands_answer_like_powershell(dup_lab: LabHandle) -> None:
    client = LabClient(dup_lab, "EX02")
    assert client.powershell("hostname").stdout == b"EX02\r\n"
    assert client.powershell("Set-StrictMode -Version Latest\necho 'hello world'").stdout == b"hello world\r\n"
    assert client.powershell("exit 3").rc == 3
    assert client.powershell("").rc == 0
    missing = client.powershell("Get-ExchangeServer")
    assert missing.rc == 1
    assert missing.stderr.startswith(b"Get-ExchangeServer : The term 'Get-ExchangeServer' is not recognized")
    assert client.run("ipconfig", ["/all"]).rc == 1


def test_bootstrap_without_the_agent_marker_is_just_powershell(dup_lab: LabHandle) -> None:
    output = LabClient(dup_lab, "EX01").agent("read", agent_text="Get-Thing\n")
    assert output.rc == 1
    assert b"Get-Thing : The term 'Get-Thing' is not recognized" in output.stderr
    assert b"CERTWARDEN" not in output.stdout


# read -------------------------------------------------------------------------------------
def test_read_reports_the_keyless_duplicate_and_changes_no_state(dup_lab: LabHandle) -> None:
    record = dup_lab.record["hosts"]["EX02"]
    before = state_digest(dup_lab.dir)
    response = LabClient(dup_lab, "EX02").call("read")
    assert state_digest(dup_lab.dir) == before
    assert response["ok"] is True and response["operation"] == "read" and response["agent_version"] == "1"
    result = response["result"]
    assert result["host"]["computer_name"] == "EX02"
    my = _by_thumb(result["stores"]["My"])
    keyless, old = record["thumbprints"]["keyless_copy"], record["thumbprints"]["old"]
    assert my[keyless]["has_private_key"] is False and my[keyless]["private_key_exportable"] is None
    assert my[old]["has_private_key"] is True
    assert (
        my[keyless]["subject"]
        == my[old]["subject"]
        == ("CN=mail.contoso.com, O=Contoso Ltd, L=Redmond, S=Washington, C=US")
    )
    exchange = result["exchange"]
    statuses = {c["thumbprint"]: c for c in exchange["certificates"]}
    assert statuses[old]["services"] == ["IIS", "SMTP"] and statuses[old]["status"] == "Valid"
    assert statuses[keyless]["services"] == []
    assert [c["name"] for c in exchange["receive_connectors"]] == ["Default Frontend EX02", "Client Frontend EX02"]
    assert exchange["send_connectors"][0]["tls_certificate_name"] == dup_lab.record["tls_certificate_names"]["renewed"]
    assert {b["site"] for b in result["iis_bindings"]} == {"Default Web Site", "Exchange Back End"}
    # The read simulated one outbound session, which presented the keyless copy.
    session = _last_session(_send_log(dup_lab, "EX02"))
    assert any(line.endswith(f"{keyless},Certificate thumbprint") for line in session)
    assert session[-2].endswith("TLS negotiation failed with error NoCredentials")


def test_healthy_hosts_log_a_normal_session(dup_lab: LabHandle) -> None:
    LabClient(dup_lab, "EX01").call("read")
    log = _send_log(dup_lab, "EX01")
    assert log.startswith("#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send")
    assert "NoCredentials" not in log and "Received certificate" in log


def test_request_log_counts_every_winrm_call(dup_lab: LabHandle) -> None:
    before = _requests(dup_lab, "EX03")
    LabClient(dup_lab, "EX03").call("read")
    new = _requests(dup_lab, "EX03")[len(before) :]
    actions = [e["action"] for e in new]
    assert actions.count("create") == actions.count("delete") == actions.count("signal") == 1
    commands = [e for e in new if e["action"] == "command"]
    assert [c["kind"] for c in commands] == ["read"]
    assert "Lab-Passw0rd" not in (dup_lab.host_dir("EX03") / "requests.log").read_text()


def test_version_mismatch_and_bad_request(dup_lab: LabHandle) -> None:
    client = LabClient(dup_lab, "EX01")
    wrong = client.agent("read", version="0").document()
    assert wrong["ok"] is False and wrong["error"]["category"] == "version_mismatch"
    bad = client.call("apply", {"steps": [{"action": "format_disk"}]})
    assert bad["ok"] is False and bad["error"]["category"] == "bad_request"


# apply ------------------------------------------------------------------------------------
def test_apply_remediates_the_duplicate_and_is_idempotent(lab_factory: Any) -> None:
    lab = lab_factory("imported-without-key")
    record = lab.record
    keyless = record["hosts"]["EX02"]["thumbprints"]["keyless_copy"]
    old = record["hosts"]["EX02"]["thumbprints"]["old"]
    steps = [
        {
            "id": "s1",
            "action": "import_pfx",
            "thumbprint": keyless,
            "pfx_b64": _pfx_b64(lab, "renewed"),
            "password": record["pfx_password"],
        },
        {
            "id": "s2",
            "action": "enable_services",
            "thumbprint": keyless,
            "services": ["IIS", "SMTP"],
            "replace_internal_transport": True,
        },
        {
            "id": "s3",
            "action": "set_iis_binding",
            "site": "Default Web Site",
            "binding": "*:443:",
            "thumbprint": keyless,
        },
        {
            "id": "s4",
            "action": "backup",
            "thumbprint": old,
            "store": "My",
            "directory": BACKUP_DIR,
            "password": "backup-secret",
            "folder": "create",
        },
        {"id": "s5", "action": "remove", "thumbprint": old, "store": "My"},
    ]
    client = LabClient(lab, "EX02")
    first = client.call("apply", {"steps": steps})["result"]
    assert [r["status"] for r in first["results"]] == ["changed"] * 5
    assert first["completed"] == 5 and first["failed"] is False
    backup = first["results"][3]["data"]
    assert backup["kind"] == "pfx" and backup["thumbprint_read_back"] == old
    assert backup["path"] == f"{BACKUP_DIR}\\{old}.pfx"
    on_disk = lab.host_dir("EX02") / "filesystem" / "C" / "ProgramData" / "certwarden" / "backup" / f"{old}.pfx"
    assert base64.b64decode(backup["content_b64"]) == on_disk.read_bytes()
    assert "backup-secret" not in json.dumps(first) and "pfx_b64" not in json.dumps(first)
    # After remediation the next session presents the renewed copy, with its key.
    session = _last_session(_send_log(lab, "EX02"))
    assert "NoCredentials" not in "".join(session) and "Received certificate" in "".join(session)
    read = client.call("read")["result"]
    my = _by_thumb(read["stores"]["My"])
    assert old not in my and my[keyless]["has_private_key"] is True
    assert read["exchange"]["transport_service"]["internal_transport_certificate_thumbprint"] == keyless
    digest = state_digest(lab.dir)
    again = client.call("apply", {"steps": steps[:3] + steps[4:]})["result"]
    assert [r["status"] for r in again["results"]] == ["unchanged"] * 4
    assert state_digest(lab.dir) == digest


def test_apply_stops_at_the_first_failure(dup_lab: LabHandle) -> None:
    record = dup_lab.record["hosts"]["EX03"]
    before = state_digest(dup_lab.dir)
    steps = [
        {
            "id": "a",
            "action": "import_pfx",
            "thumbprint": record["intended"],
            "pfx_b64": _pfx_b64(dup_lab, "renewed"),
            "password": "wrong",
        },
        {"id": "b", "action": "remove", "thumbprint": record["intended"], "store": "My"},
    ]
    result = LabClient(dup_lab, "EX03").call("apply", {"steps": steps})["result"]
    assert result["failed"] is True and result["completed"] == 0
    assert [r["status"] for r in result["results"]] == ["failed", "not_run"]
    assert result["results"][0]["message"] == "The specified network password is not correct."
    assert state_digest(dup_lab.dir) == before


def test_backup_of_a_non_exportable_key_is_der(dup_lab: LabHandle) -> None:
    self_signed = dup_lab.record["hosts"]["EX01"]["thumbprints"]["self_signed"]
    step = {
        "id": "b",
        "action": "backup",
        "thumbprint": self_signed,
        "store": "My",
        "directory": BACKUP_DIR,
        "password": "secret",
        "folder": "create",
    }
    data = LabClient(dup_lab, "EX01").call("apply", {"steps": [step]})["result"]["results"][0]["data"]
    assert data["kind"] == "der" and data["path"].endswith(".cer") and data["thumbprint_read_back"] == self_signed


def test_missing_intermediates_make_the_chain_untrusted_until_installed(lab_factory: Any) -> None:
    lab = lab_factory("missing-intermediate")
    pki = lab.record["pki"]
    intended = lab.record["hosts"]["EX01"]["intended"]

    def status(host: str) -> str:
        certificates = LabClient(lab, host).call("read")["result"]["exchange"]["certificates"]
        return _by_thumb(certificates)[intended]["status"]

    assert [status(h) for h in ("EX01", "EX02", "EX03")] == ["Valid", "Untrusted", "Untrusted"]
    for host, label in (("EX02", "policy_ca"), ("EX03", "cross_root")):
        cert = x509.load_pem_x509_certificate((lab.dir / "pki" / f"{label}.pem").read_bytes())
        der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        step = {"id": "i", "action": "install_intermediate", "thumbprint": pki[label], "der_b64": der}
        assert LabClient(lab, host).call("apply", {"steps": [step]})["result"]["results"][0]["status"] == "changed"
    assert [status(h) for h in ("EX02", "EX03")] == ["Valid", "Valid"]


def test_connectors_are_organisation_wide(lab_factory: Any) -> None:
    lab = lab_factory("stale-connector")
    new_name = lab.record["tls_certificate_names"]["rebranded"]
    steps = [
        {
            "id": "1",
            "action": "set_connector",
            "kind": "send",
            "identity": "Outbound to Office 365",
            "tls_certificate_name": new_name,
        },
        {"id": "2", "action": "set_hybrid", "tls_certificate_name": new_name},
    ]
    assert LabClient(lab, "EX01").call("apply", {"steps": steps})["result"]["failed"] is False
    seen = LabClient(lab, "EX03").call("read")["result"]["exchange"]
    assert seen["send_connectors"][0]["tls_certificate_name"] == new_name
    assert seen["hybrid_configuration"]["tls_certificate_name"] == new_name
    assert seen["receive_connectors"][0]["tls_certificate_name"] == lab.record["tls_certificate_names"]["leaf"]


def test_field_scenario_statuses(module_lab_factory: Any) -> None:
    lab = module_lab_factory("field")
    assert lab.hosts[0] == "healthy" and "stale-connector" in lab.hosts
    revoked = lab.record["hosts"]["duplicate-revoked"]["thumbprints"]["revoked"]
    certificates = LabClient(lab, "duplicate-revoked").call("read")["result"]["exchange"]["certificates"]
    assert _by_thumb(certificates)[revoked]["status"] == "Revoked"
    expiring = lab.record["hosts"]["expiring"]["thumbprints"]["expiring"]
    LabClient(lab, "expiring").call("read")
    assert "UnknownCredentials" in _send_log(lab, "expiring")
    stale = LabClient(lab, "stale-connector").call("read")["result"]["exchange"]
    stale_server = lab.record["hosts"]["stale-connector"]["computer_name"]
    assert [c["source_transport_servers"] for c in stale["send_connectors"]] == [[stale_server]]
    assert expiring in lab.record["pki"].values()


# bulk data and logs -------------------------------------------------------------------------
def test_megabytes_of_stdin_and_stdout_survive_chunking(dup_lab: LabHandle) -> None:
    log_dir = dup_lab.host_dir("EX01") / "logs" / "SmtpReceive"
    big = os.urandom(3 * 1024 * 1024)
    (log_dir / "RECV20261101-1.log").write_bytes(big)
    padding = "# " + "x" * 4 * 1024 * 1024 + "\n"
    client = LabClient(dup_lab, "EX01")
    before = len(_requests(dup_lab, "EX01"))
    output = client.agent(
        "read_logs",
        {"paths": None, "since": None, "max_bytes": 50_000_000},
        agent_text="# certwarden-agent 1\n" + padding,
    )
    files = {f["name"]: f for f in output.document()["result"]["files"]}
    assert base64.b64decode(files["RECV20261101-1.log"]["content_b64"]) == big
    new = _requests(dup_lab, "EX01")[before:]
    assert sum(1 for e in new if e["action"] == "send") >= 21
    assert sum(1 for e in new if e["action"] == "receive") >= 2
    truncated = client.call("read_logs", {"paths": None, "since": None, "max_bytes": 1000})["result"]["files"]
    assert sum(len(base64.b64decode(f["content_b64"])) for f in truncated) == 1000
    assert any(f["truncated"] for f in truncated)


def test_non_utf8_connector_names_come_back_as_json(dup_lab: LabHandle) -> None:
    org = dup_lab.dir / "orgs" / "contoso" / "send_connectors.json"
    connectors = json.loads(org.read_text())
    original = json.dumps(connectors)
    connectors.append(
        {**connectors[0], "identity": "Bad \udcff name", "name": "Bad \udcff name", "protocol_logging_level": "None"}
    )
    write_json(org, connectors)
    try:
        names = [c["name"] for c in LabClient(dup_lab, "EX01").call("read")["result"]["exchange"]["send_connectors"]]
        assert "Bad \udcff name" in names
    finally:
        write_json(org, json.loads(original))


# faults -------------------------------------------------------------------------------------
def test_refuse_auth_once(dup_lab: LabHandle) -> None:
    write_json(dup_lab.host_dir("EX03") / "faults.json", {"refuse_auth": True, "once": True})
    with pytest.raises(InvalidCredentialsError):
        LabClient(dup_lab, "EX03").powershell("hostname")
    assert LabClient(dup_lab, "EX03").powershell("hostname").stdout == b"EX03\r\n"
    with pytest.raises(InvalidCredentialsError):
        LabClient(dup_lab, "EX03", password="wrong").powershell("hostname")


def test_truncated_and_malformed_output(dup_lab: LabHandle) -> None:
    client = LabClient(dup_lab, "EX01")
    write_json(dup_lab.host_dir("EX01") / "faults.json", {"truncate_output": True, "once": True})
    truncated = client.agent("read").stdout.decode()
    assert truncated.startswith("<<<CERTWARDEN-BEGIN>>>\n") and "<<<CERTWARDEN-END>>>" not in truncated
    write_json(dup_lab.host_dir("EX01") / "faults.json", {"malformed_output": True, "operation": "read"})
    with pytest.raises(json.JSONDecodeError):
        client.agent("read").document()
    assert client.call("read_logs", {"paths": None})["ok"] is True  # the fault names another operation
    (dup_lab.host_dir("EX01") / "faults.json").unlink()
    assert client.call("read")["ok"] is True


@pytest.mark.parametrize(("fault", "done"), [("drop_before_step", 1), ("drop_after_step", 2)])
def test_dropped_connection_during_apply(lab_factory: Any, fault: str, done: int) -> None:
    lab = lab_factory("healthy")
    pki = lab.record["pki"]
    write_json(lab.host_dir("EX02") / "faults.json", {fault: 2, "once": True})
    steps = [
        {"id": str(n), "action": "remove", "thumbprint": pki[label], "store": "CA"}
        for n, label in ((1, "issuing_ca"), (2, "policy_ca"), (3, "root"))
    ]
    with pytest.raises(requests.exceptions.ConnectionError):
        LabClient(lab, "EX02").agent("apply", {"steps": steps})
    ca = {c["thumbprint"] for c in LabClient(lab, "EX02").call("read")["result"]["stores"]["CA"]}
    removed = {pki["issuing_ca"], pki["policy_ca"]} - ca
    assert len(removed) == done
    rerun = LabClient(lab, "EX02").call("apply", {"steps": steps})["result"]
    assert rerun["failed"] is False


def test_stall_outlasts_the_client_timeout(dup_lab: LabHandle) -> None:
    write_json(dup_lab.host_dir("EX02") / "faults.json", {"stall_seconds": 3, "operation": "read", "once": True})
    with pytest.raises(requests.exceptions.ReadTimeout):
        LabClient(dup_lab, "EX02", operation_timeout_sec=1, read_timeout_sec=2).agent("read")
    assert LabClient(dup_lab, "EX02").call("read")["ok"] is True


# ansible-playbook ---------------------------------------------------------------------------
PLAYBOOK = """
- hosts: exchange
  gather_facts: false
  tasks:
    - ansible.builtin.raw: hostname
      register: name
    - ansible.builtin.raw: Write-Output certwarden
      register: said
    - ansible.builtin.assert:
        that:
          - name.stdout_lines == [inventory_hostname]
          - said.stdout_lines == ['certwarden']
    - ansible.builtin.raw: Get-Nothing
      register: missing
      failed_when: missing.rc != 1 or 'is not recognized' not in missing.stderr
"""


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_ansible_playbook_raw_against_three_hosts(lab_factory: Any, tmp_path: Path, https: bool) -> None:
    lab = lab_factory("healthy", https=https)
    playbook = tmp_path / "raw.yml"
    playbook.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(lab.inventory_path), str(playbook)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for host in ("EX01", "EX02", "EX03"):
        assert f"{host}                       : ok=4" in result.stdout
        assert [e["kind"] for e in _requests(lab, host) if e["action"] == "command"] == ["raw"] * 3
    if https:
        assert "ansible_winrm_ca_trust_path" in lab.inventory_path.read_text()
