"""playbooks/selftest.yml against the lab: the report, and a support bundle with no secret in it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.lab import LabHandle
from tests.support.playbook import REPO, run_playbook


def test_selftest_reports_how_exchange_was_loaded_and_writes_a_redacted_bundle(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("healthy", hosts=2)
    bundles = tmp_path / "bundles"
    run = run_playbook(
        REPO / "playbooks" / "selftest.yml",
        lab.inventory_path,
        tmp_path / "run",
        extra_vars={"bundle_directory": str(bundles)},
    )
    assert run.rc == 0, run.output
    results = run.results("Self-test")
    assert set(results) == set(lab.hosts)
    for host, result in results.items():
        report = result["selftest"]
        assert report["windows"]["os_build"] == 17763
        assert report["windows"]["powershell_version"].startswith("5.1")
        assert (report["exchange"]["role"], report["exchange"]["loaded_by"]) == ("Mailbox", "remote_credential")
        assert report["exchange"]["cmdlets_missing"] == []
        assert report["logon"]["can_delegate"] is True  # Basic: the server holds the password (docs/windows.md)
        assert report["winrm"]["max_memory_per_shell_mb"] == 1024
        assert report["problems"] == []
        bundle = Path(result["bundle"])
        assert bundle.parent == bundles and bundle.stat().st_mode & 0o077 == 0
        text = bundle.read_text()
        password = json.loads((lab.host_dir(host) / "host.json").read_text())["auth"]["password"]
        assert password not in text and "der_b64" not in text and "PRIVATE KEY" not in text
        assert json.loads(text)["read"]["stores"]["My"][0]["thumbprint"]


def _lab_whose_account_lacks(lab_factory, cmdlet: str) -> tuple[LabHandle, str]:
    """A one-server lab whose account's RBAC roles do not expose ``cmdlet``."""
    lab = lab_factory("healthy", hosts=1)
    host = lab.hosts[0]
    path = lab.host_dir(host) / "host.json"
    info = json.loads(path.read_text())
    info["exchange_shell"] = {"rbac_missing": [cmdlet]}
    path.write_text(json.dumps(info))
    return lab, host


def test_selftest_names_the_missing_role_and_fails(lab_factory, tmp_path: Path) -> None:
    lab, host = _lab_whose_account_lacks(lab_factory, "Set-SendConnector")
    extra_vars = {"bundle_directory": str(tmp_path / "bundles")}
    run = run_playbook(REPO / "playbooks" / "selftest.yml", lab.inventory_path, tmp_path / "run", extra_vars=extra_vars)
    assert run.rc != 0
    result = run.results("Self-test")[host]
    assert result["selftest"]["exchange"]["cmdlets_missing"] == [
        {"cmdlet": "Set-SendConnector", "granted_by": "Send Connectors"}
    ]
    assert "grant Send Connectors" in result["msg"]


def test_selftest_lists_an_optional_cmdlet_the_account_lacks_without_failing(lab_factory, tmp_path: Path) -> None:
    """Without Get-AuthConfig the tool still works (it keeps self-signed copies): a note, not a problem."""
    lab, host = _lab_whose_account_lacks(lab_factory, "Get-AuthConfig")
    run = run_playbook(REPO / "playbooks" / "selftest.yml", lab.inventory_path, tmp_path / "run")
    result = run.results("Self-test")[host]
    assert run.rc == 0, run.output[-2000:]
    assert [m["cmdlet"] for m in result["selftest"]["exchange"]["cmdlets_missing"]] == ["Get-AuthConfig"]
    assert result["selftest"]["problems"] == []
