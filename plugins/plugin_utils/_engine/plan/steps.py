"""The remediation plan: ordered primitive steps (docs/agent-protocol.md, ``apply``).

Order is what makes every prefix safe: chain -> import -> enable services ->
point connectors / hybrid / IIS -> back up -> remove. Removal is the only
destructive step; it only ever targets a duplicate that nothing binds once the
steps before it have run, and always follows a backup of the same thumbprint.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.backup_folder import FolderUse
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import Certificate
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import (
    Connector,
    ConnectorKind,
    IisBinding,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.redaction import redact


@dataclass(frozen=True)
class Step:
    id: int
    action: str
    params: Mapping[str, Any]
    reason: str

    def to_request(self) -> dict:
        """What goes to the agent (includes secrets)."""
        return {"id": self.id, "action": self.action, **dict(self.params)}

    def to_display(self) -> dict:
        """For reports and --diff: secrets masked, DER blobs shortened."""
        return {"id": self.id, "action": self.action, "params": redact(dict(self.params)), "reason": self.reason}


def _der_b64(cert: Certificate) -> str:
    return base64.b64encode(cert.der).decode("ascii")


@dataclass
class Decisions:
    """What the plan will do, decided before any step is written."""

    install_roots: list[Certificate] = field(default_factory=list)
    install_intermediates: list[Certificate] = field(default_factory=list)
    import_pfx: bool = False
    import_reason: str = ""
    enable_services: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)  # thumbprint -> services
    replace_internal_transport: set[str] = field(default_factory=set)  # thumbprints enabled with -Force
    legacy_pfx: bool = False  # the server (before Server 2019) cannot import an AES-256 PFX
    set_connectors: list[tuple[Connector, str]] = field(default_factory=list)
    set_hybrid: str | None = None
    set_iis: list[tuple[IisBinding, str]] = field(default_factory=list)
    removals: list[tuple[str, str]] = field(default_factory=list)  # (thumbprint, reason), store My
    backup_folder: FolderUse | None = None  # how the backup steps use backup.remote_directory

    def removes(self, thumbprint: str) -> bool:
        return any(t == thumbprint for t, _unused in self.removals)

    def raw_steps(self, desired: DesiredState | None) -> list[dict]:
        """Every step the decisions call for, action by action in ``ACTION_ORDER``."""
        return [step for action in ACTION_ORDER for step in STEP_BUILDERS[action](self, desired)]

    def steps(self, desired: DesiredState | None) -> list[Step]:
        return [
            Step(index, raw["action"], MappingProxyType(raw["params"]), raw["reason"])
            for index, raw in enumerate(self.raw_steps(desired), start=1)
        ]


def _raw(action: str, params: dict[str, Any], reason: str) -> dict:
    return {"action": action, "params": params, "reason": reason}


def _install(action: str, certificates: list[Certificate], what: str, store: str) -> list[dict]:
    return [
        _raw(
            action,
            {"thumbprint": cert.thumbprint, "der_b64": _der_b64(cert)},
            f"{what} {cert.subject_str} is missing from LocalMachine\\{store}",
        )
        for cert in certificates
    ]


def _install_root(decisions: Decisions, desired: DesiredState | None) -> list[dict]:
    return _install("install_root", decisions.install_roots, "trust anchor", "Root")


def _install_intermediate(decisions: Decisions, desired: DesiredState | None) -> list[dict]:
    return _install("install_intermediate", decisions.install_intermediates, "intermediate", "CA")


def _pfx_for_server(decisions: Decisions, desired: DesiredState | None) -> str | None:
    """The PFX the server can import: 3DES/SHA-1 before Windows Server 2019, AES-256 from it on."""
    if desired is None:
        return None
    if decisions.legacy_pfx and desired.pfx_legacy_b64:
        return desired.pfx_legacy_b64
    return desired.pfx_b64


def _import_pfx(decisions: Decisions, desired: DesiredState | None) -> list[dict]:
    if not decisions.import_pfx:
        return []
    params = {
        "thumbprint": desired.intended_thumbprint if desired else None,
        "pfx_b64": _pfx_for_server(decisions, desired),
        "password": desired.pfx_password if desired else None,
    }
    return [_raw("import_pfx", params, decisions.import_reason)]


def _enable_services(decisions: Decisions, desired: DesiredState | None) -> list[dict]:
    steps = []
    for thumbprint in sorted(decisions.enable_services):
        services, reason = decisions.enable_services[thumbprint]
        params = {"thumbprint": thumbprint, "services": list(services)}
        if thumbprint in decisions.replace_internal_transport:
            params["replace_internal_transport"] = True
        steps.append(_raw("enable_services", params, reason))
    return steps


def _sends_first(change: tuple[Connector, str]) -> tuple[bool, str]:
    return change[0].kind is not ConnectorKind.SEND, change[0].identity


def _set_connector(decisions: Decisions, desired: DesiredState | None) -> list[dict]:
    return [
        _raw(
            "set_connector",
            {"kind": connector.kind.value, "identity": connector.identity, "tls_certificate_name": tls_name},
            f"{connector.kind.value} connector {connector.identity} names "
            f"{connector.tls_certificate_name or 'no certificate'}",
        )
        for connector, tls_name in sorted(decisions.set_connectors, key=_sends_first)
    ]


def _set_hybrid(decisions: Decisions, desired: DesiredState | None) -> list[dict]:
    if decisions.set_hybrid is None:
        return []
    return [
        _raw(
            "set_hybrid",
            {"tls_certificate_name": decisions.set_hybrid},
            "the hybrid configuration names another certificate",
        )
    ]


def _set_iis_binding(decisions: Decisions, desired: DesiredState | None) -> list[dict]:
    return [
        _raw(
            "set_iis_binding",
            {"site": binding.site, "binding": binding.binding, "thumbprint": thumbprint},
            f"IIS binding {binding.site} {binding.binding} uses {binding.thumbprint or 'no certificate'}",
        )
        for binding, thumbprint in sorted(decisions.set_iis, key=lambda b: (b[0].site, b[0].binding))
    ]


def _folder_params(use: FolderUse | None, first: bool) -> dict[str, Any]:
    """``folder``: ``create`` (absent at the read: create it, set its ACL), ``created`` (an earlier step of
    this apply created it) or ``existing`` (use it only while its ACL is the ``folder_sddl`` the read saw)."""
    if use is None or use.create:
        return {"folder": "create" if first else "created"}
    return {"folder": "existing", "folder_sddl": use.sddl}


def _backup(decisions: Decisions, desired: DesiredState | None) -> list[dict]:
    return [
        _raw(
            "backup",
            {
                "thumbprint": thumbprint,
                "store": "My",
                "directory": desired.backup_directory if desired else None,
                "password": desired.backup_password if desired else None,
                **_folder_params(decisions.backup_folder, index == 0),
            },
            f"keep a verified copy before removing {thumbprint}",
        )
        for index, (thumbprint, _reason) in enumerate(sorted(decisions.removals))
    ]


def _remove(decisions: Decisions, desired: DesiredState | None) -> list[dict]:
    return [
        _raw("remove", {"thumbprint": thumbprint, "store": "My"}, reason)
        for thumbprint, reason in sorted(decisions.removals)
    ]


StepBuilder = Callable[[Decisions, DesiredState | None], list[dict]]

# The order of the plan; see the module docstring for why every prefix of it is safe.
ACTION_ORDER: tuple[str, ...] = (
    "install_root",
    "install_intermediate",
    "import_pfx",
    "enable_services",
    "set_connector",
    "set_hybrid",
    "set_iis_binding",
    "backup",
    "remove",
)

STEP_BUILDERS: Mapping[str, StepBuilder] = MappingProxyType(
    {
        "install_root": _install_root,
        "install_intermediate": _install_intermediate,
        "import_pfx": _import_pfx,
        "enable_services": _enable_services,
        "set_connector": _set_connector,
        "set_hybrid": _set_hybrid,
        "set_iis_binding": _set_iis_binding,
        "backup": _backup,
        "remove": _remove,
    }
)
