"""The server's folders as the agent sees them: environment variables, and a folder's ACL (docs/lab.md).

A host folder holds plain files, which cannot carry a Windows ACL, so the lab
writes each folder's security descriptor down in ``hosts/<name>/folders.json``:

```json
{"C:\\ProgramData\\certwarden\\backup": {"owner": "S-1-5-32-544", "protected": true,
  "rules": [{"sid": "S-1-5-18", "rights": "FullControl", "type": "Allow"}], "reparse_point": false}}
```

Keys are Windows paths, compared case-insensitively as NTFS does. A folder with
no entry, or an entry that is not ``protected``, inherits its parent's rules
(``inherited: true``); the drive root's rules are ``DRIVE_ROOT_RULES``. Rules
are container- and object-inheritable (as the agent's are), so every rule a
parent has reaches its children.
"""

from __future__ import annotations

from pathlib import PureWindowsPath
from typing import Any

from tests.lab.state import HostState, read_json, write_json

SYSTEM = "S-1-5-18"
ADMINISTRATORS = "S-1-5-32-544"
USERS = "S-1-5-32-545"
AUTHENTICATED_USERS = "S-1-5-11"
# A domain user's SID: who made a folder the agent did not make.
SOMEONE = "S-1-5-21-3623811015-3361044348-30300820-1104"
# The account the agent runs as (its WinRM logon, read as host.logon.user_sid): another user of that domain.
AGENT_ACCOUNT_SID = "S-1-5-21-3623811015-3361044348-30300820-1105"
# What a drive root allows on a default Windows Server installation (icacls C:\): SYSTEM and
# Administrators full control, Users read, Authenticated Users modify.
DRIVE_ROOT_RULES = (
    {"sid": SYSTEM, "rights": "FullControl", "type": "Allow"},
    {"sid": ADMINISTRATORS, "rights": "FullControl", "type": "Allow"},
    {"sid": USERS, "rights": "ReadAndExecute, Synchronize", "type": "Allow"},
    {"sid": AUTHENTICATED_USERS, "rights": "Modify, Synchronize", "type": "Allow"},
)
# The two the agent's Set-AdministratorsOnlyAcl adds to a protected, empty DACL.
ADMINISTRATORS_ONLY = (
    {"sid": ADMINISTRATORS, "rights": "FullControl", "type": "Allow"},
    {"sid": SYSTEM, "rights": "FullControl", "type": "Allow"},
)
ENVIRONMENT_DEFAULTS = {
    "SystemRoot": "C:\\Windows",
    "ProgramFiles": "C:\\Program Files",
    "ProgramFiles(x86)": "C:\\Program Files (x86)",
}
# Exchange setup's default target; it sets the machine variable to the folder with a trailing backslash.
EXCHANGE_DEFAULT = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\"
_SDDL_ALIASES = {SYSTEM: "SY", ADMINISTRATORS: "BA", USERS: "BU", AUTHENTICATED_USERS: "AU"}
_SDDL_RIGHTS = {"FullControl": "FA", "ReadAndExecute, Synchronize": "0x1200a9", "Modify, Synchronize": "0x1301bf"}
ACL_FILE = "folders.json"


def environment(host: HostState) -> dict[str, str]:
    """The machine's environment: ``host.json`` ``environment`` over the defaults; ExchangeInstallPath with Exchange."""
    env = dict(ENVIRONMENT_DEFAULTS)
    if host.has_exchange:
        env["ExchangeInstallPath"] = EXCHANGE_DEFAULT
    env.update(host.info.get("environment") or {})
    return env


def server_folders(host: HostState) -> dict[str, str | None]:
    """The read's ``host.folders``, from the environment as agent.ps1 reads it."""
    env = environment(host)
    return {
        "windows": env.get("SystemRoot"),
        "program_files": env.get("ProgramFiles"),
        "program_files_x86": env.get("ProgramFiles(x86)"),
        "exchange_install": env.get("ExchangeInstallPath"),
    }


def _key(windows_path: str) -> str:
    return str(PureWindowsPath(windows_path)).rstrip("\\").casefold()


def _entries(host: HostState) -> dict[str, dict[str, Any]]:
    return {_key(path): entry for path, entry in (read_json(host.dir / ACL_FILE, {}) or {}).items()}


def _write_entry(host: HostState, windows_path: str, entry: dict[str, Any]) -> None:
    raw = read_json(host.dir / ACL_FILE, {}) or {}
    raw = {path: value for path, value in raw.items() if _key(path) != _key(windows_path)}
    raw[str(PureWindowsPath(windows_path)).rstrip("\\")] = entry
    write_json(host.dir / ACL_FILE, raw)


def _rules(entries: dict[str, dict[str, Any]], path: PureWindowsPath) -> list[dict[str, Any]]:
    """The effective rules of ``path``: its own, then (unless protected) its parent's, marked inherited."""
    entry = entries.get(_key(str(path)), {})
    own = [{**rule, "inherited": False} for rule in entry.get("rules", [])]
    if entry.get("protected"):
        return own
    if path.parent == path:
        return own + [{**rule, "inherited": True} for rule in DRIVE_ROOT_RULES]
    return own + [{**rule, "inherited": True} for rule in _rules(entries, path.parent)]


def _sddl(owner: str, protected: bool, rules: list[dict[str, Any]]) -> str:
    aces = "".join(
        f"({'A' if r['type'] == 'Allow' else 'D'};OICI{'ID' if r['inherited'] else ''};"
        f"{_SDDL_RIGHTS.get(r['rights'], r['rights'])};;;{_SDDL_ALIASES.get(r['sid'], r['sid'])})"
        for r in rules
    )
    return f"O:{_SDDL_ALIASES.get(owner, owner)}D:{'P' if protected else ''}AI{aces}"


def folder_facts(host: HostState, windows_path: str) -> dict[str, Any]:
    """agent.ps1 ``Get-FolderFacts``: what the path is, its owner and DACL (SDDL and rules)."""
    facts: dict[str, Any] = {
        "path": windows_path,
        "exists": False,
        "directory": False,
        "reparse_point": False,
        "reparse_parents": [],
        "protected": False,
        "owner": None,
        "sddl": None,
        "rules": [],
    }
    entries = _entries(host)
    facts["reparse_parents"] = [
        str(parent)
        for parent in PureWindowsPath(windows_path).parents
        if entries.get(_key(str(parent)), {}).get("reparse_point") and host.local_path(str(parent)).exists()
    ]
    local = host.local_path(windows_path)
    if not local.exists():
        return facts
    entry = entries.get(_key(windows_path), {})
    owner = str(entry.get("owner", SYSTEM))
    protected = bool(entry.get("protected", False))
    rules = _rules(entries, PureWindowsPath(windows_path))
    return {
        **facts,
        "exists": True,
        "directory": local.is_dir(),
        "reparse_point": bool(entry.get("reparse_point", False)),
        "protected": protected,
        "owner": owner,
        "sddl": _sddl(owner, protected, rules),
        "rules": rules,
    }


def new_directory(host: HostState, windows_path: str, owner: str = ADMINISTRATORS) -> None:
    """``New-Item -ItemType Directory`` without ``-Force``: parents are made too; an existing item is an error.

    Raises FileExistsError with the message New-Item writes. The new folder inherits
    its parent's rules; its owner is the creator (an elevated administrator: Administrators).
    """
    local = host.local_path(windows_path)
    if local.exists():
        raise FileExistsError(f"An item with the specified name {windows_path} already exists.")
    local.mkdir(parents=True)
    _write_entry(host, windows_path, {"owner": owner, "protected": False, "rules": []})


def set_administrators_only(host: HostState, windows_path: str) -> None:
    """agent.ps1 ``Set-AdministratorsOnlyAcl``: a new DirectorySecurity, SetAccessRuleProtection($true, $false),
    two rules, SetAccessControl. Only the DACL was modified, so only the DACL is written: the owner stays."""
    entry = _entries(host).get(_key(windows_path), {})
    _write_entry(
        host,
        windows_path,
        {**entry, "owner": entry.get("owner", SYSTEM), "protected": True, "rules": list(ADMINISTRATORS_ONLY)},
    )


def add_allow_rule(host: HostState, windows_path: str, sid: str, rights: str) -> None:
    """An administrator widening a folder's ACL (AddAccessRule + SetAccessControl): one more explicit rule."""
    entry = _entries(host).get(_key(windows_path), {"owner": SYSTEM, "protected": False, "rules": []})
    rules = [*entry.get("rules", []), {"sid": sid, "rights": rights, "type": "Allow"}]
    _write_entry(host, windows_path, {**entry, "rules": rules})


def restrict_existing(host: HostState, windows_path: str, owner: str = ADMINISTRATORS) -> None:
    """A folder an administrator made and restricted beforehand (for scenarios)."""
    host.local_path(windows_path).mkdir(parents=True, exist_ok=True)
    _write_entry(host, windows_path, {"owner": owner, "protected": True, "rules": list(ADMINISTRATORS_ONLY)})


def make_junction(host: HostState, windows_path: str) -> None:
    """A folder that is a junction (a reparse point): what is written below it lands in its target."""
    host.local_path(windows_path).mkdir(parents=True, exist_ok=True)
    entry = _entries(host).get(_key(windows_path), {"owner": ADMINISTRATORS, "protected": False, "rules": []})
    _write_entry(host, windows_path, {**entry, "reparse_point": True})
