"""Where a server may keep backups: an absolute folder on a local drive, away from the system's own folders.

A relative path is resolved differently by cmdlets (the PowerShell location)
and by .NET (the process directory); a UNC path leaves the server and its ACL
behind; a drive root or a system folder would get its permissions replaced.
The server's real Windows, Program Files and Exchange folders, and the
folder's own facts, come from the agent's read: ``judge_backup_folder``
decides on them (the agent only reports and compares).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.server_folders import (
    ADMINISTRATORS_SID,
    RESTRICTED_SIDS,
    TRUSTED_OWNER_SIDS,
    ServerFolders,
)

_LOCAL_ABSOLUTE = re.compile(r"^[A-Za-z]:\\")
# The standard locations of the folders whose permissions must never change (case-insensitive).
_SYSTEM_FOLDERS = ("windows", "program files", "program files (x86)", "programdata\\microsoft")
# An 8.3 short name (PROGRA~1) names a folder whose long name the controller cannot see.
_SHORT_NAME = re.compile(r"~\d")


def check_backup_directory(path: str) -> None:
    """Raise InputError naming option backup.remote_directory when ``path`` is not a safe backup folder."""

    def refuse(reason: str) -> InputError:
        return InputError(f"option backup.remote_directory: '{path}' {reason}")

    text = path.replace("/", "\\")
    if text.startswith("\\\\"):
        raise refuse("is a UNC path; backups stay on the server, in a local folder under its ACL")
    if not _LOCAL_ABSOLUTE.match(text):
        raise refuse("is not an absolute local path such as C:\\ProgramData\\certwarden\\backup")
    parts = [p for p in text[3:].split("\\") if p]
    if not parts:
        raise refuse("is a drive root; give a folder of its own")
    if any(p in (".", "..") for p in parts):
        raise refuse("holds '.' or '..'; give the folder itself")
    if any(_SHORT_NAME.search(p) for p in parts):
        raise refuse("holds a short (8.3) name such as PROGRA~1; give the folder's long name")
    for folder in _SYSTEM_FOLDERS:
        if is_inside(text, text[:3] + folder):
            raise refuse(f"is inside {text[:3]}{folder}, a folder whose permissions must not change")


def path_parts(path: str) -> tuple[str, ...]:
    """A Windows path as Windows compares it: case-insensitive, either slash, no empty or trailing-dot parts."""
    parts = path.replace("/", "\\").split("\\")
    # Win32 path normalisation drops a trailing period or space from a name ("C:\\Windows." is C:\\Windows).
    return tuple(p.rstrip(". ").casefold() for p in parts if p.rstrip(". "))


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or below it; whole names only (C:\\WindowsBackup is not in C:\\Windows)."""
    inner, outer = path_parts(path), path_parts(folder)
    return bool(outer) and inner[: len(outer)] == outer


@dataclass(frozen=True)
class FolderUse:
    """How the backup step uses the folder: create it (and set its ACL), or use it as the read saw it."""

    create: bool
    sddl: str | None = None  # the existing folder's owner and DACL at the read; the apply refuses any other
    refusal: str | None = None  # why no backup may be written there (then the plan writes none)


def _refused(path: str, reason: str) -> FolderUse:
    return FolderUse(create=False, refusal=f"option backup.remote_directory: '{path}' {reason}")


def _owner_refusal(path: str, owner: str | None, account_sid: str | None) -> str | None:
    """Why ``owner`` may not own the backup folder ``path``, or None when it may.

    An owner may always read and rewrite an object's DACL, whatever the DACL says ("Owner of a New
    Object", https://learn.microsoft.com/windows/win32/secauthz/owner-of-a-new-object): a folder
    restricted today but owned by another account can be opened to anyone tomorrow, PFX backups and
    their private keys with it. SYSTEM, Administrators and TrustedInstaller are the owners Windows
    gives its own folders; the agent's own account (an administrator, or it could not manage the
    machine's stores) owns what it made when Windows names the creator as owner.
    """
    if owner is None:
        return "exists, but its owner could not be read"
    if owner in TRUSTED_OWNER_SIDS or owner == account_sid:
        return None
    return (
        f"exists and is owned by {owner}, which may change its permissions whatever they are now (an owner "
        f'always can); give it to Administrators (icacls "{path}" /setowner *{ADMINISTRATORS_SID}) or '
        "choose another folder"
    )


def judge_backup_folder(path: str, folders: ServerFolders | None, *, account_sid: str | None = None) -> FolderUse:
    """Decide on the server's facts whether, and how, the backup step may use ``path``.

    Without facts (a read that was not asked about the folder) the step creates
    the folder, and the agent refuses it if it exists: nothing already there is
    ever changed. ``account_sid`` is the account the agent runs as, which may own the folder.
    """
    if folders is None:
        return FolderUse(create=True)
    for what, folder in folders.system_folders():
        if is_inside(path, folder):
            return _refused(path, f"is inside {what}, {folder}, on this server; its permissions must not change")
    facts = folders.backup
    if facts is not None and facts.reparse_parents:
        return _refused(
            path,
            f"lies under {', '.join(facts.reparse_parents)}, a junction or symbolic link: backups would land in "
            "another folder",
        )
    if facts is None or not facts.exists:
        return FolderUse(create=True)
    if not facts.directory:
        return _refused(path, "exists and is not a folder")
    if facts.reparse_point:
        return _refused(path, "is a junction or symbolic link (a reparse point): backups would land in another folder")
    if not facts.protected:
        return _refused(
            path, "exists and inherits permissions from its parent (inheritance is on), so it is not restricted"
        )
    others = [f"{rule.sid} ({rule.rights})" for rule in facts.rules if rule.allow and rule.sid not in RESTRICTED_SIDS]
    if others:
        return _refused(path, f"exists and also allows {', '.join(others)}; only SYSTEM and Administrators may")
    owner_refusal = _owner_refusal(path, facts.owner, account_sid)
    if owner_refusal is not None:
        return _refused(path, owner_refusal)
    return FolderUse(create=False, sddl=facts.sddl)
