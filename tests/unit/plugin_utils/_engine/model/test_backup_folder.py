"""judge_backup_folder: a backup folder judged on the server's own folders and the folder's ACL facts."""

from __future__ import annotations

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.backup_folder import (
    check_backup_directory,
    is_inside,
    judge_backup_folder,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.server_folders import (
    AccessRule,
    FolderFacts,
    ServerFolders,
)

SYSTEM = AccessRule("S-1-5-18", "FullControl", allow=True, inherited=False)
ADMINS = AccessRule("S-1-5-32-544", "FullControl", allow=True, inherited=False)
USERS_READ = AccessRule("S-1-5-32-545", "ReadAndExecute, Synchronize", allow=True, inherited=False)
SDDL = "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
SERVER = ServerFolders(
    windows="E:\\WINNT",
    program_files="C:\\Program Files",
    program_files_x86="C:\\Program Files (x86)",
    exchange_install="D:\\Exchange Server\\V15\\",
)


def _with(facts: FolderFacts | None, server: ServerFolders = SERVER) -> ServerFolders:
    return ServerFolders(
        server.windows, server.program_files, server.program_files_x86, server.exchange_install, backup=facts
    )


def _restricted(path: str, *rules: AccessRule, **kw: object) -> FolderFacts:
    values = {"exists": True, "directory": True, "protected": True, "owner": "S-1-5-32-544", "sddl": SDDL, **kw}
    return FolderFacts(path, rules=rules or (SYSTEM, ADMINS), **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ("D:\\Exchange Server\\V15\\Backup", "the Exchange install folder"),
        ("d:/exchange server/v15/backup", "the Exchange install folder"),
        ("D:\\Exchange Server\\V15", "the Exchange install folder"),
        ("D:\\Exchange Server.\\V15\\x", "the Exchange install folder"),
        ("E:\\winnt\\certs", "the Windows folder"),
    ],
)
def test_a_folder_inside_the_servers_own_folders_is_refused(path: str, what: str) -> None:
    use = judge_backup_folder(path, _with(FolderFacts(path, exists=False)))
    assert use.refusal is not None and use.refusal.startswith(f"option backup.remote_directory: '{path}' is inside")
    assert what in use.refusal


@pytest.mark.parametrize("path", ["E:\\WINNTBackup", "D:\\Exchange Server\\V15Backup", "D:\\Exchange", "C:\\Backups"])
def test_a_name_that_only_starts_like_a_server_folder_is_not_inside_it(path: str) -> None:
    use = judge_backup_folder(path, _with(FolderFacts(path, exists=False)))
    assert use.refusal is None and use.create


def test_is_inside_compares_whole_names_case_insensitively() -> None:
    assert is_inside("C:\\WINDOWS\\Temp", "c:\\windows")
    assert not is_inside("C:\\WindowsBackup", "C:\\Windows")
    assert not is_inside("C:\\x", "")


def test_an_absent_folder_is_created() -> None:
    use = judge_backup_folder("C:\\Backups", _with(FolderFacts("C:\\Backups", exists=False)))
    assert use.create and use.sddl is None and use.refusal is None


def test_without_facts_the_folder_is_created_and_the_agent_refuses_an_existing_one() -> None:
    assert judge_backup_folder("C:\\Backups", None).create
    assert judge_backup_folder("C:\\Backups", _with(None)).create


def test_an_existing_restricted_folder_is_used_as_the_read_saw_it() -> None:
    use = judge_backup_folder("C:\\Backups", _with(_restricted("C:\\Backups")))
    assert not use.create and use.sddl == SDDL and use.refusal is None


def test_a_deny_rule_does_not_widen_a_folder() -> None:
    deny = AccessRule("S-1-1-0", "Write", allow=False, inherited=False)
    assert judge_backup_folder("C:\\B", _with(_restricted("C:\\B", SYSTEM, ADMINS, deny))).refusal is None


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (_restricted("C:\\B", SYSTEM, ADMINS, USERS_READ), "also allows S-1-5-32-545 (ReadAndExecute, Synchronize)"),
        (_restricted("C:\\B", protected=False), "inherits permissions from its parent"),
        (_restricted("C:\\B", reparse_point=True), "is a junction or symbolic link"),
        (_restricted("C:\\B", directory=False), "exists and is not a folder"),
    ],
)
def test_an_existing_folder_that_is_not_restricted_is_refused(facts: FolderFacts, reason: str) -> None:
    use = judge_backup_folder("C:\\B", _with(facts))
    assert use.refusal is not None and reason in use.refusal
    assert use.refusal.startswith("option backup.remote_directory: 'C:\\B'")


AGENT_ACCOUNT = "S-1-5-21-3623811015-3361044348-30300820-1105"
ANOTHER_ADMIN = "S-1-5-21-3623811015-3361044348-30300820-1104"


@pytest.mark.parametrize(
    "owner",
    ["S-1-5-32-544", "S-1-5-18", "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464", AGENT_ACCOUNT],
    ids=["Administrators", "SYSTEM", "TrustedInstaller", "the agent's own account"],
)
def test_a_restricted_folder_owned_by_windows_or_by_the_agents_account_is_used(owner: str) -> None:
    use = judge_backup_folder("C:\\B", _with(_restricted("C:\\B", owner=owner)), account_sid=AGENT_ACCOUNT)
    assert use.refusal is None and use.sddl == SDDL


def test_a_restricted_folder_owned_by_another_account_is_refused_with_the_command_that_fixes_it() -> None:
    """Its owner can rewrite the DACL whenever it likes, and read the PFX backups after that."""
    use = judge_backup_folder("C:\\B", _with(_restricted("C:\\B", owner=ANOTHER_ADMIN)), account_sid=AGENT_ACCOUNT)
    assert use.refusal == (
        f"option backup.remote_directory: 'C:\\B' exists and is owned by {ANOTHER_ADMIN}, which may change its "
        'permissions whatever they are now (an owner always can); give it to Administrators (icacls "C:\\B" '
        "/setowner *S-1-5-32-544) or choose another folder"
    )


def test_an_existing_folder_whose_owner_is_unknown_is_refused() -> None:
    for account in (None, AGENT_ACCOUNT):
        use = judge_backup_folder("C:\\B", _with(_restricted("C:\\B", owner=None)), account_sid=account)
        assert use.refusal is not None and "its owner could not be read" in use.refusal


def test_without_the_agents_account_only_windows_owners_pass() -> None:
    """A read that does not name the agent's account (one saved before reads did): only Windows' own owners pass."""
    assert judge_backup_folder("C:\\B", _with(_restricted("C:\\B", owner=AGENT_ACCOUNT))).refusal is not None
    assert judge_backup_folder("C:\\B", _with(_restricted("C:\\B"))).refusal is None


def test_a_folder_under_a_junction_is_refused_whether_or_not_it_exists() -> None:
    for facts in (
        FolderFacts("C:\\J\\B", exists=False, reparse_parents=("C:\\J",)),
        _restricted("C:\\J\\B", reparse_parents=("C:\\J",)),
    ):
        use = judge_backup_folder("C:\\J\\B", _with(facts))
        assert use.refusal is not None and "lies under C:\\J, a junction or symbolic link" in use.refusal


def test_a_short_name_is_refused_by_the_controller() -> None:
    with pytest.raises(InputError, match=r"short \(8\.3\) name"):
        check_backup_directory("C:\\PROGRA~1\\certs")


def test_a_trailing_dot_does_not_hide_a_system_folder_from_the_controller() -> None:
    with pytest.raises(InputError, match="is inside"):
        check_backup_directory("C:\\Windows.\\certs")
