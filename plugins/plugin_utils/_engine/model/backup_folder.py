"""Where a server may keep backups: an absolute folder on a local drive, away from the system's own folders.

A relative path is resolved differently by cmdlets (the PowerShell location)
and by .NET (the process directory); a UNC path leaves the server and its ACL
behind; a drive root or a system folder would get its permissions replaced.
The server's real Windows, Program Files and Exchange folders are checked
again by the agent (they can live on another drive).
"""

from __future__ import annotations

import re

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError

_LOCAL_ABSOLUTE = re.compile(r"^[A-Za-z]:\\")
# The standard locations of the folders whose permissions must never change (case-insensitive).
_SYSTEM_FOLDERS = ("windows", "program files", "program files (x86)", "programdata\\microsoft")


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
    inside = "\\".join(parts).casefold()
    for folder in _SYSTEM_FOLDERS:
        if inside == folder or inside.startswith(folder + "\\"):
            raise refuse(f"is inside {text[:3]}{folder}, a folder whose permissions must not change")
