"""What the agent's ``read`` reports about the server's folders (docs/agent-protocol.md, ``read``).

Facts only: where the server keeps Windows, Program Files and Exchange (its
environment, so Exchange on ``D:`` is seen), and, when the read was asked about
the backup folder, whether it exists and what its ACL says. The judgement is
``backup_folder.judge_backup_folder``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import SnapshotError

SYSTEM_SID = "S-1-5-18"
ADMINISTRATORS_SID = "S-1-5-32-544"
# The ACL the agent gives a backup folder it creates: protected (nothing inherited), these two with full control.
RESTRICTED_SIDS = (SYSTEM_SID, ADMINISTRATORS_SID)
# NT SERVICE\TrustedInstaller: a service SID, S-1-5-80- and the SHA-1 of the upper-cased service name
# (https://learn.microsoft.com/windows/win32/secauthz/well-known-sids, SECURITY_SERVICE_ID_BASE_RID).
TRUSTED_INSTALLER_SID = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
# The owners Windows gives its own folders; any of them may own a backup folder.
TRUSTED_OWNER_SIDS = (SYSTEM_SID, ADMINISTRATORS_SID, TRUSTED_INSTALLER_SID)


@dataclass(frozen=True)
class AccessRule:
    """One access control entry as FileSystemAccessRule reports it."""

    sid: str
    rights: str  # FileSystemRights as Windows spells it, e.g. "FullControl" or "ReadAndExecute, Synchronize"
    allow: bool
    inherited: bool


@dataclass(frozen=True)
class FolderFacts:
    """The backup folder as the server saw it at the read."""

    path: str
    exists: bool
    directory: bool = False
    reparse_point: bool = False  # a junction or symbolic link: the files would land elsewhere
    reparse_parents: tuple[str, ...] = ()  # the folders above it that are junctions or symbolic links
    protected: bool = False  # inheritance disabled (DirectorySecurity.AreAccessRulesProtected)
    owner: str | None = None
    sddl: str | None = None  # owner and DACL in SDDL: what the apply compares with
    rules: tuple[AccessRule, ...] = ()


@dataclass(frozen=True)
class ServerFolders:
    """The server's own folders (from its environment) and the backup folder's facts (None when not asked)."""

    windows: str | None = None
    program_files: str | None = None
    program_files_x86: str | None = None
    exchange_install: str | None = None  # ExchangeInstallPath; None where Exchange is not installed
    backup: FolderFacts | None = None

    def system_folders(self) -> tuple[tuple[str, str], ...]:
        """(what, path) for every server folder a backup folder must stay out of."""
        named = (
            ("the Windows folder", self.windows),
            ("the Program Files folder", self.program_files),
            ("the Program Files (x86) folder", self.program_files_x86),
            ("the Exchange install folder (ExchangeInstallPath)", self.exchange_install),
        )
        return tuple((what, path) for what, path in named if path)


def _text(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise SnapshotError(f"read result field {where}.{key} must be a string or null, not {type(value).__name__}")
    return value or None


def _flag(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise SnapshotError(f"read result field {where}.{key} must be true or false, not {value!r}")
    return value


def _rule(raw: Any, index: int) -> AccessRule:
    where = f"backup_folder.rules[{index}]"
    if not isinstance(raw, Mapping):
        raise SnapshotError(f"read result field {where} must be an object")
    kind = raw.get("type")
    if kind not in ("Allow", "Deny"):
        raise SnapshotError(f"read result field {where}.type must be Allow or Deny, not {kind!r}")
    return AccessRule(
        sid=_text(raw, "sid", where) or "",
        rights=_text(raw, "rights", where) or "",
        allow=kind == "Allow",
        inherited=_flag(raw, "inherited", where),
    )


def parse_folder_facts(raw: Any) -> FolderFacts | None:
    if raw is None:
        return None
    where = "backup_folder"
    if not isinstance(raw, Mapping):
        raise SnapshotError(f"read result field {where} must be an object or null")
    rules = raw.get("rules") or []
    parents = raw.get("reparse_parents") or []
    if not isinstance(rules, list) or not isinstance(parents, list):
        raise SnapshotError(f"read result field {where}.rules and .reparse_parents must be lists")
    return FolderFacts(
        path=_text(raw, "path", where) or "",
        exists=_flag(raw, "exists", where),
        directory=_flag(raw, "directory", where),
        reparse_point=_flag(raw, "reparse_point", where),
        reparse_parents=tuple(str(parent) for parent in parents),
        protected=_flag(raw, "protected", where),
        owner=_text(raw, "owner", where),
        sddl=_text(raw, "sddl", where),
        rules=tuple(_rule(rule, index) for index, rule in enumerate(rules)),
    )


def parse_server_folders(result: Mapping[str, Any]) -> ServerFolders | None:
    """``host.folders`` and ``backup_folder`` of a read result; None when the read reported neither."""
    host = result.get("host")
    raw = host.get("folders") if isinstance(host, Mapping) else None
    backup = parse_folder_facts(result.get("backup_folder"))
    if raw is None and backup is None:
        return None
    if raw is not None and not isinstance(raw, Mapping):
        raise SnapshotError("read result field host.folders must be an object")
    raw = raw or {}
    where = "host.folders"
    return ServerFolders(
        windows=_text(raw, "windows", where),
        program_files=_text(raw, "program_files", where),
        program_files_x86=_text(raw, "program_files_x86", where),
        exchange_install=_text(raw, "exchange_install", where),
        backup=backup,
    )


def folders_read_result(folders: ServerFolders | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Back to the read's shape: (``host.folders``, ``backup_folder``)."""
    if folders is None:
        return None, None
    system = {
        "windows": folders.windows,
        "program_files": folders.program_files,
        "program_files_x86": folders.program_files_x86,
        "exchange_install": folders.exchange_install,
    }
    facts = folders.backup
    if facts is None:
        return system, None
    backup = {
        "path": facts.path,
        "exists": facts.exists,
        "directory": facts.directory,
        "reparse_point": facts.reparse_point,
        "reparse_parents": list(facts.reparse_parents),
        "protected": facts.protected,
        "owner": facts.owner,
        "sddl": facts.sddl,
        "rules": [
            {"sid": r.sid, "rights": r.rights, "type": "Allow" if r.allow else "Deny", "inherited": r.inherited}
            for r in facts.rules
        ],
    }
    return system, backup
