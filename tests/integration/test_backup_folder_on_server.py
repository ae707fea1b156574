"""backup.remote_directory judged on the server's own facts: its system folders and the folder's ACL.

Through the real ansible-playbook against the lab: EX02 of ``duplicate-no-key``
backs up and removes its keyless duplicate, so the plan writes into the folder.
A refused folder changes nothing on the server; a folder the agent did not
create keeps its ACL; a folder created or widened between the read and the
apply (lab fault ``folder_before_apply``) stops the backup, and the removal
after it never runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.lab import folders, state_digest
from tests.lab.state import HostState, read_json, write_json
from tests.support.lab_plays import COMPLIANCE_TASK, RESTORE_TASK, compliance_play, restore_play
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab
HOST = "EX02"
DEFAULT_FOLDER = "C:\\ProgramData\\certwarden\\backup"
RESTRICTED_RULES = [
    {"sid": folders.ADMINISTRATORS, "rights": "FullControl", "type": "Allow", "inherited": False},
    {"sid": folders.SYSTEM, "rights": "FullControl", "type": "Allow", "inherited": False},
]


def _host(lab: Any) -> HostState:
    return HostState(lab.host_dir(HOST))


def _acls(lab: Any) -> Any:
    return read_json(lab.host_dir(HOST) / folders.ACL_FILE, {})


def _duplicate(lab: Any) -> str:
    return json.loads((lab.dir / "scenario.json").read_text())["hosts"][HOST]["thumbprints"]["keyless_copy"]


def _play(tmp_path: Path, remote_directory: str | None = None) -> list[dict[str, Any]]:
    play = compliance_play(tmp_path / "backups")
    if remote_directory is not None:
        play[0]["tasks"][0]["certwarden.exchange.cert_compliance"]["backup"]["remote_directory"] = remote_directory
    return play


def _refused(lab: Any, tmp_path: Path, remote_directory: str, reason: str) -> dict[str, Any]:
    before = state_digest(lab.dir)
    run = run_playbook(_play(tmp_path, remote_directory), lab.inventory_path, tmp_path / "run", limit=HOST)
    result = run.results(COMPLIANCE_TASK)[HOST]
    assert run.statuses(COMPLIANCE_TASK)[HOST] == "failed", result
    assert f"option backup.remote_directory: '{remote_directory}' {reason}" in result["msg"], result["msg"]
    assert "backup_folder_refused" in {f["code"] for f in result["findings"]}
    assert result["changed"] is False and "applied" not in result
    assert "Traceback" not in run.output
    assert state_digest(lab.dir) == before, "a refused folder changed the server"
    return result


def test_a_folder_inside_exchange_installed_on_d_is_refused(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    info = read_json(lab.host_dir(HOST) / "host.json")
    info["environment"] = {"ExchangeInstallPath": "D:\\Exchange Server\\V15\\"}
    write_json(lab.host_dir(HOST) / "host.json", info)
    _refused(
        lab,
        tmp_path,
        "d:\\EXCHANGE SERVER\\v15\\Backup",
        "is inside the Exchange install folder (ExchangeInstallPath), D:\\Exchange Server\\V15\\, on this server",
    )
    assert not (lab.host_dir(HOST) / "filesystem" / "D").exists(), "a folder was created under Exchange"


def test_an_existing_folder_users_can_read_is_refused_and_keeps_its_acl(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    host = _host(lab)
    folders.restrict_existing(host, "C:\\Backups\\certs")
    folders.add_allow_rule(host, "C:\\Backups\\certs", folders.USERS, "ReadAndExecute, Synchronize")
    acls = _acls(lab)
    _refused(lab, tmp_path, "C:\\Backups\\certs", "exists and also allows S-1-5-32-545 (ReadAndExecute, Synchronize)")
    assert _acls(lab) == acls
    assert (lab.host_dir(HOST) / "stores" / "My" / f"{_duplicate(lab)}.cer").exists()


def test_an_existing_folder_that_inherits_is_refused(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    (lab.host_dir(HOST) / "filesystem" / "C" / "Backups").mkdir(parents=True)
    _refused(lab, tmp_path, "C:\\Backups", "exists and inherits permissions from its parent (inheritance is on)")


def test_a_folder_under_a_junction_is_refused(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    folders.make_junction(_host(lab), "C:\\Backups")
    _refused(lab, tmp_path, "C:\\Backups\\certs", "lies under C:\\Backups, a junction or symbolic link")
    assert not (lab.host_dir(HOST) / "filesystem" / "C" / "Backups" / "certs").exists()


def test_a_restricted_folder_owned_by_another_account_is_refused_and_keeps_its_acl(lab_factory, tmp_path: Path) -> None:
    """Its owner may rewrite the DACL whenever it likes: the PFX backups would be theirs to read."""
    lab = lab_factory("duplicate-no-key")
    folders.restrict_existing(_host(lab), "C:\\Backups\\certs", owner=folders.SOMEONE)
    acls = _acls(lab)
    result = _refused(
        lab,
        tmp_path,
        "C:\\Backups\\certs",
        f"exists and is owned by {folders.SOMEONE}, which may change its permissions whatever they are now",
    )
    assert 'icacls "C:\\Backups\\certs" /setowner *S-1-5-32-544' in result["msg"]
    assert _acls(lab) == acls
    assert (lab.host_dir(HOST) / "stores" / "My" / f"{_duplicate(lab)}.cer").exists()


def test_an_existing_restricted_folder_is_used_and_its_acl_left_alone(lab_factory, tmp_path: Path) -> None:
    """Owned by the account the agent runs as (read as host.logon.user_sid): the agent's own folder."""
    lab = lab_factory("duplicate-no-key")
    folders.restrict_existing(_host(lab), "C:\\Backups\\certs", owner=folders.AGENT_ACCOUNT_SID)
    acls = _acls(lab)
    run = run_playbook(_play(tmp_path, "C:\\Backups\\certs"), lab.inventory_path, tmp_path / "run", limit=HOST)
    result = run.results(COMPLIANCE_TASK)[HOST]
    assert run.rc == 0 and result["compliant"], run.output[-3000:]
    [backup] = [s for s in result["plan"] if s["action"] == "backup"]
    assert backup["params"]["folder"] == "existing" and backup["params"]["folder_sddl"]
    assert _acls(lab) == acls, "the agent changed the permissions of a folder it did not create"
    assert (lab.host_dir(HOST) / "filesystem" / "C" / "Backups" / "certs" / f"{_duplicate(lab)}.cer").is_file()


def test_a_new_folder_is_created_for_system_and_administrators_only(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    run = run_playbook(_play(tmp_path), lab.inventory_path, tmp_path / "run", limit=HOST)
    result = run.results(COMPLIANCE_TASK)[HOST]
    assert run.rc == 0 and result["compliant"], run.output[-3000:]
    facts = folders.folder_facts(_host(lab), DEFAULT_FOLDER)
    assert facts["directory"] and facts["protected"] and facts["owner"] == folders.ADMINISTRATORS
    assert facts["rules"] == RESTRICTED_RULES
    # The next run finds the folder it made, restricted: it uses it as it is.
    again = run_playbook(_play(tmp_path), lab.inventory_path, tmp_path / "again", limit=HOST)
    assert again.rc == 0 and not again.results(COMPLIANCE_TASK)[HOST]["changed"]


def test_check_diff_shows_the_folder_to_create_and_changes_nothing(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    before = state_digest(lab.dir)
    run = run_playbook(_play(tmp_path), lab.inventory_path, tmp_path / "check", check=True, diff=True, limit=HOST)
    result = run.results(COMPLIANCE_TASK)[HOST]
    assert run.rc == 0 and result["changed"], run.output[-3000:]
    diff = result["diff"]
    assert f"Backup folder {DEFAULT_FOLDER}: absent" in diff["before"]
    assert f"Backup folder {DEFAULT_FOLDER}: folder, inheritance disabled" in diff["after"]
    assert "allow S-1-5-18 (SYSTEM) FullControl" in diff["after"]
    assert "allow S-1-5-32-544 (Administrators) FullControl" in diff["after"]
    assert "Backup folder" in run.output and "inheritance disabled" in run.output
    assert state_digest(lab.dir) == before, "check mode changed the lab"
    assert not (lab.host_dir(HOST) / "filesystem" / "C" / "ProgramData" / "certwarden").exists()


@pytest.mark.parametrize("kind", ["created", "widened"])
def test_a_folder_changed_between_read_and_apply_stops_the_backup(kind: str, lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    if kind == "widened":
        folders.restrict_existing(_host(lab), DEFAULT_FOLDER)
    fault = {"folder_before_apply": {"kind": kind, "path": DEFAULT_FOLDER}, "operation": "apply", "once": True}
    write_json(lab.host_dir(HOST) / "faults.json", fault)
    run = run_playbook(_play(tmp_path), lab.inventory_path, tmp_path / "run", limit=HOST)
    result = run.results(COMPLIANCE_TASK)[HOST]
    assert run.statuses(COMPLIANCE_TASK)[HOST] == "failed", result
    expected = "did not exist at the read and exists now" if kind == "created" else "changed since the read"
    assert f"the backup folder {DEFAULT_FOLDER} {expected}" in result["msg"], result["msg"]
    steps = {s["action"]: s["status"] for s in result["applied"]}
    assert steps["backup"] == "failed" and steps["remove"] == "not_run"
    assert (lab.host_dir(HOST) / "stores" / "My" / f"{_duplicate(lab)}.cer").exists()
    facts = folders.folder_facts(_host(lab), DEFAULT_FOLDER)
    if kind == "created":
        assert facts["owner"] == folders.SOMEONE and not facts["protected"], "the agent took over the folder"
    else:
        assert {"sid": folders.USERS, "rights": "ReadAndExecute, Synchronize", "type": "Allow", "inherited": False} in (
            facts["rules"]
        ), "the agent reset the widened ACL"
    assert not list(lab.host_dir(HOST).joinpath("filesystem").rglob("*.cer")), "a backup was written"


@pytest.mark.parametrize("existing", [False, True], ids=["folder-to-create", "existing-folder"])
def test_a_junction_made_above_the_folder_between_read_and_apply_stops_the_backup(
    existing: bool, lab_factory, tmp_path: Path
) -> None:
    """The read saw no junction above the folder; one made before the apply would send the backup (a
    private key) wherever it points, so the backup fails, nothing is written and the removal never runs."""
    lab = lab_factory("duplicate-no-key")
    if existing:
        folders.restrict_existing(_host(lab), DEFAULT_FOLDER)
    parent = DEFAULT_FOLDER.rsplit("\\", 1)[0]
    fault = {"folder_before_apply": {"kind": "junction", "path": parent}, "operation": "apply", "once": True}
    write_json(lab.host_dir(HOST) / "faults.json", fault)
    run = run_playbook(_play(tmp_path), lab.inventory_path, tmp_path / "run", limit=HOST)
    result = run.results(COMPLIANCE_TASK)[HOST]
    assert run.statuses(COMPLIANCE_TASK)[HOST] == "failed", result
    expected = f"the backup folder {DEFAULT_FOLDER} is now below a junction or symbolic link ({parent})"
    assert expected in result["msg"], result["msg"]
    steps = {s["action"]: s["status"] for s in result["applied"]}
    assert steps["backup"] == "failed" and steps["remove"] == "not_run"
    assert (lab.host_dir(HOST) / "stores" / "My" / f"{_duplicate(lab)}.cer").exists()
    assert folders.folder_facts(_host(lab), DEFAULT_FOLDER)["exists"] is existing, "the agent made the folder"
    assert not list(lab.host_dir(HOST).joinpath("filesystem").rglob("*.cer")), "a backup was written"
    assert not list(lab.host_dir(HOST).joinpath("filesystem").rglob("*.pfx")), "a backup was written"
    # The next run reads the junction and refuses the folder before any step: nothing changes on the server.
    _refused(lab, tmp_path / "again", DEFAULT_FOLDER, f"lies under {parent}, a junction or symbolic link")


def test_cert_restore_fetching_a_pending_backup_writes_nothing_into_the_folder(lab_factory, tmp_path: Path) -> None:
    """A run journalled a backup and was cut off before it: cert_restore fetches, the server writes nothing."""
    lab = lab_factory("duplicate-no-key")
    duplicate = _duplicate(lab)
    folder = tmp_path / "backups" / HOST
    folder.mkdir(parents=True)
    pending = {"thumbprint": duplicate, "store": "My", "remote_directory": DEFAULT_FOLDER, "pending": True}
    (folder / "manifest.json").write_text(json.dumps([pending]), encoding="utf-8")
    before = state_digest(lab.dir)
    run = run_playbook(restore_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "restore", limit=HOST)
    assert run.rc == 0, run.output[-3000:]
    assert run.results(RESTORE_TASK)[HOST]["changed"] is False
    assert state_digest(lab.dir) == before
    assert not (lab.host_dir(HOST) / "filesystem" / "C" / "ProgramData" / "certwarden").exists()
