"""Secrets never show, backups are protected, and connector names stay data.

* A rollout-shaped compliance run at ``-vvvvvv`` with ``ANSIBLE_DEBUG=1``, and
  the real rollout playbook with its passwords in Ansible Vault at ``-vvvv``,
  with the report callback: no PFX password, backup password, vault password,
  private key PEM, base64 of a key's DER or of a backup's bytes in the output,
  the JSON/JUnit/HTML reports or the lab's request log.
* The lab's PFX backups are PBES2 with AES-256-CBC (OIDs in the PKCS#12), the
  controller copies are mode 0600, and agent.ps1 sets the Administrators+SYSTEM
  ACL with inheritance removed (only on a folder it created).
* A connector named ``x'; Remove-Item C:\\ -Recurse; '`` is repointed through
  cert_compliance's set_connector and stays a name; agent.ps1 builds no code from
  strings (tree-sitter).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import tree_sitter_powershell
import yaml
from cryptography.hazmat.primitives import serialization
from tree_sitter import Language, Node, Parser

from tests.lab import folders
from tests.lab.scenarios import PFX_PASSWORD
from tests.lab.state import HostState, read_json, write_json
from tests.reliability.case_lab import BEFORE_RENEWAL, Case, CaseLab
from tests.reliability.plays import PLAYBOOKS
from tests.support.lab_plays import BACKUP_PASSWORD, COMPLIANCE_TASK, compliance_play
from tests.support.playbook import run_playbook

pytestmark = [pytest.mark.lab]
AGENT = Path(__file__).resolve().parents[2] / "plugins" / "plugin_utils" / "_wire" / "agent.ps1"
INJECTION = "x'; Remove-Item C:\\ -Recurse; '"
# DER of the OIDs that matter in a PKCS#12 (tag 06, length, value).
OID_PBES2 = bytes.fromhex("06092a864886f70d01050d")  # 1.2.840.113549.1.5.13
OID_AES256_CBC = bytes.fromhex("060960864801650304012a")  # 2.16.840.1.101.3.4.1.42
OID_3DES_SHA1 = bytes.fromhex("060a2a864886f70d010c0103")  # pbeWithSHAAnd3-KeyTripleDES-CBC
OID_RC2_40 = bytes.fromhex("060a2a864886f70d010c0106")  # pbeWithSHAAnd40BitRC2-CBC


def _key_fingerprints(case_lab: CaseLab) -> list[str]:
    """Strings that would betray a private key: its PEM body lines and base64 of its DER."""
    found = []
    for label in ("leaf", "renewed", "reissued", "rebranded", "expiring"):
        key = getattr(case_lab.pki, label).key
        if key is None:
            continue
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        encoded = base64.b64encode(der).decode()
        found += [encoded[64:128], encoded[-100:-40]]
    return found


def _backup_fingerprints(folder: Path) -> list[str]:
    """Base64 stretches of every backup kept on the controller (what the agent's answer carried)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".pfx", ".cer"):
            encoded = base64.b64encode(path.read_bytes()).decode()
            found += [encoded[64:128], encoded[-100:-40]]
    return found


def test_secrets_never_show_at_vvvvvv_with_ansible_debug(case_lab: CaseLab, tmp_path: Path) -> None:
    """Ansible's most verbose output: the winrm plugin prints each command's stdout from -vvvvv on."""
    hosts = case_lab.write_cases([Case("imported-without-key"), Case("duplicate-revoked")], tmp_path / "hosts.yml")
    reports = tmp_path / "report"
    run = run_playbook(
        compliance_play(tmp_path / "backups"),
        tmp_path / "hosts.yml",
        tmp_path / "run",
        verbosity=6,
        env={
            "ANSIBLE_DEBUG": "1",
            "ANSIBLE_CALLBACKS_ENABLED": "certwarden.exchange.compliance_report",
            "CERTWARDEN_REPORT_DIR": str(reports),
        },
    )
    assert run.rc == 0, run.output[-3000:]
    assert all(r["changed"] for r in run.results(COMPLIANCE_TASK).values())
    texts = {"stdout+stderr": run.output}
    for path in sorted(reports.glob("*")):
        texts[path.name] = path.read_text(encoding="utf-8", errors="replace")
    assert {"report.json", "junit.xml", "report.html"} <= set(texts), sorted(texts)
    for name in hosts:
        texts[f"{name} requests.log"] = (case_lab.host_dir(name) / "requests.log").read_text(encoding="ascii")
    assert "WINRM RESULT" in run.output, "not verbose enough to show what the winrm plugin logs"
    backups = _backup_fingerprints(tmp_path / "backups")
    assert len(backups) >= 4, "no backup was kept on the controller"
    secrets = [PFX_PASSWORD, BACKUP_PASSWORD, "PRIVATE KEY", *_key_fingerprints(case_lab), *backups]
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{secret[:20]!r}... appears in {where}"

    # Backups: PFX on the server is PBES2 + AES-256-CBC, never 3DES/RC2; controller copies are 0600.
    pfx_backups = [p for name in hosts for p in (case_lab.host_dir(name) / "filesystem").rglob("*.pfx")]
    assert pfx_backups, "no PFX backup was made (the removed certificates had exportable keys)"
    for pfx in pfx_backups:
        data = pfx.read_bytes()
        assert OID_PBES2 in data and OID_AES256_CBC in data, f"{pfx} is not PBES2/AES-256"
        assert OID_3DES_SHA1 not in data and OID_RC2_40 not in data, f"{pfx} uses a legacy cipher"
        host_dir = next(parent.parent for parent in pfx.parents if parent.name == "filesystem")
        facts = folders.folder_facts(HostState(host_dir), "C:\\ProgramData\\certwarden\\backup")
        assert facts["protected"] and {r["sid"] for r in facts["rules"]} == {folders.ADMINISTRATORS, folders.SYSTEM}
    kept = [p for p in (tmp_path / "backups").rglob("*") if p.is_file()]
    assert kept
    for path in kept:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, f"{path} is not 0600"


def test_connector_name_with_powershell_in_it_stays_a_name(case_lab: CaseLab, tmp_path: Path) -> None:
    hosts = case_lab.write_cases([Case("stale-connector")], tmp_path / "hosts.yml")
    [host] = hosts
    org = case_lab.dir / "orgs" / f"org-{host.lower()}"
    send = read_json(org / "send_connectors.json")
    send.append({**send[0], "identity": INJECTION, "name": INJECTION})
    write_json(org / "send_connectors.json", send)
    run = run_playbook(
        compliance_play(tmp_path / "backups", send_connectors=["Outbound to Office 365", INJECTION]),
        tmp_path / "hosts.yml",
        tmp_path / "run",
    )
    result = run.results(COMPLIANCE_TASK)[host]
    assert run.rc == 0 and result["compliant"], run.output[-3000:]
    applied = [s for s in result["applied"] if s["action"] == "set_connector"]
    assert any(s["status"] == "changed" for s in applied)
    after = {c["name"]: c for c in read_json(org / "send_connectors.json")}
    assert INJECTION in after, "the connector's name changed"
    rebranded_name = after["Outbound to Office 365"]["tls_certificate_name"]
    assert after[INJECTION]["tls_certificate_name"] == rebranded_name
    assert (case_lab.host_dir(host) / "filesystem" / "C").is_dir(), "C:\\ is still there"


def _nodes(node: Node) -> list[Node]:
    found = [node]
    for child in node.children:
        found += _nodes(child)
    return found


def test_agent_builds_no_code_from_strings_and_locks_the_backup_folder() -> None:
    source = AGENT.read_bytes()
    tree = Parser(Language(tree_sitter_powershell.language())).parse(source)
    assert not tree.root_node.has_error
    commands = [
        n.text.decode().lower() for n in _nodes(tree.root_node) if n.type == "command_name" and n.text is not None
    ]
    assert commands, "the parser found no commands"
    for forbidden in ("invoke-expression", "iex", "add-type", "start-process"):
        assert forbidden not in commands, forbidden
    text = source.decode("ascii")
    assert "[ScriptBlock]::Create" not in text and ".InvokeScript(" not in text
    # The backup folder's ACL: protected (inheritance removed, nothing copied), Administrators and SYSTEM only.
    functions = {}
    for node in _nodes(tree.root_node):
        if node.type == "function_statement" and node.text is not None:
            header = node.text.decode().split("(", 1)[0].split("{", 1)[0].split()
            functions[header[1].lower()] = node.text.decode()
    body = functions["set-administratorsonlyacl"]
    assert "SetAccessRuleProtection($true, $false)" in body
    assert "'S-1-5-32-544', 'S-1-5-18'" in body and "Everyone" not in body
    step = functions["step-backup"]
    assert "Use-BackupFolder $Step $directory" in step and "New-Item" not in step
    assert "CryptoAlgorithmOption" in step and "AES256_SHA256" in step
    # Only a folder the agent has just created gets the ACL; New-Item without -Force fails on an existing one.
    use = functions["use-backupfolder"]
    create = use.split("'create'", 1)[1].split("'created'", 1)[0]
    assert "New-Item -ItemType Directory -Path $Directory\n" in create
    assert "Set-AdministratorsOnlyAcl $Directory" in create
    assert use.count("Set-AdministratorsOnlyAcl") == 1


def test_rollout_with_vaulted_passwords_shows_no_secret_at_vvvv(case_lab: CaseLab, tmp_path: Path) -> None:
    """The real rollout playbook, the PFX and backup passwords from Ansible Vault, at -vvvv with the report."""
    hosts = case_lab.write_cases([Case(BEFORE_RENEWAL), Case(BEFORE_RENEWAL)], tmp_path / "hosts.yml")
    inventory = yaml.safe_load((tmp_path / "hosts.yml").read_text(encoding="utf-8"))
    group_vars = inventory["all"]["children"]["exchange"]["vars"]
    group_vars.pop("certwarden_pfx_password")  # only the vault has it
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    vault_password = "vault-Passw0rd-for-the-tests"
    password_file = tmp_path / "vault-password"
    password_file.write_text(vault_password + "\n", encoding="utf-8")
    vaulted = tmp_path / "group_vars" / "exchange.yml"
    vaulted.parent.mkdir()
    vaulted.write_text(
        yaml.safe_dump(
            {
                "certwarden_pfx_password": PFX_PASSWORD,
                "certwarden_backup_password": BACKUP_PASSWORD,
                "certwarden_backup_local_directory": str(tmp_path / "backups"),
            }
        ),
        encoding="utf-8",
    )
    encrypt = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-vault")),
            "encrypt",
            "--vault-password-file",
            str(password_file),
            str(vaulted),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert encrypt.returncode == 0, encrypt.stderr
    assert PFX_PASSWORD not in vaulted.read_text(encoding="utf-8")

    reports = tmp_path / "report"
    run = run_playbook(
        PLAYBOOKS / "rollout.yml",
        tmp_path / "hosts.yml",
        tmp_path / "run",
        verbosity=4,
        env={
            "ANSIBLE_VAULT_PASSWORD_FILE": str(password_file),
            "ANSIBLE_CALLBACKS_ENABLED": "certwarden.exchange.compliance_report",
            "CERTWARDEN_REPORT_DIR": str(reports),
        },
        timeout=600,
    )
    assert run.rc == 0, run.output[-3000:]
    report = json.loads((reports / "report.json").read_text(encoding="utf-8"))
    assert {s["name"]: s["status"] for s in report["servers"]} == dict.fromkeys(hosts, "compliant")
    assert any(p.suffix == ".pfx" for p in (tmp_path / "backups").rglob("*")), "the old certificates were not backed up"
    texts = {"stdout+stderr": run.output}
    texts.update({p.name: p.read_text(encoding="utf-8", errors="replace") for p in sorted(reports.glob("*"))})
    texts.update(
        {f"{n} requests.log": (case_lab.host_dir(n) / "requests.log").read_text(encoding="ascii") for n in hosts}
    )
    secrets = [PFX_PASSWORD, BACKUP_PASSWORD, vault_password, "PRIVATE KEY", *_key_fingerprints(case_lab)]
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{secret[:20]!r}... appears in {where}"
