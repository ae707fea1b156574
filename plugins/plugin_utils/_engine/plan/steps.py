"""The remediation plan: ordered primitive steps (docs/agent-protocol.md, ``apply``).

Order is what makes every prefix safe: chain -> import -> enable services ->
point connectors / hybrid / IIS -> back up -> remove. Removal is the only
destructive step; it only ever targets a duplicate that nothing binds once the
steps before it have run, and always follows a backup of the same thumbprint.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import Certificate
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Connector, IisBinding
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.redaction import redact

ACTION_ORDER = (
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
    set_connectors: list[tuple[Connector, str]] = field(default_factory=list)
    set_hybrid: str | None = None
    set_iis: list[tuple[IisBinding, str]] = field(default_factory=list)
    removals: list[tuple[str, str]] = field(default_factory=list)  # (thumbprint, reason), store My

    def actions(self) -> set[str]:
        return {step["action"] for step in self.raw_steps(None)}

    def removes(self, thumbprint: str) -> bool:
        return any(t == thumbprint for t, _unused in self.removals)

    def raw_steps(self, desired: Any) -> list[dict]:
        steps: list[dict] = []
        for cert in self.install_roots:
            steps.append(
                {
                    "action": "install_root",
                    "params": {"thumbprint": cert.thumbprint, "der_b64": _der_b64(cert)},
                    "reason": f"trust anchor {cert.subject_str} is missing from LocalMachine\\Root",
                }
            )
        for cert in self.install_intermediates:
            steps.append(
                {
                    "action": "install_intermediate",
                    "params": {"thumbprint": cert.thumbprint, "der_b64": _der_b64(cert)},
                    "reason": f"intermediate {cert.subject_str} is missing from LocalMachine\\CA",
                }
            )
        if self.import_pfx:
            steps.append(
                {
                    "action": "import_pfx",
                    "params": {
                        "thumbprint": desired.intended_thumbprint if desired else None,
                        "pfx_b64": desired.pfx_b64 if desired else None,
                        "password": desired.pfx_password if desired else None,
                    },
                    "reason": self.import_reason,
                }
            )
        for thumbprint in sorted(self.enable_services):
            services, reason = self.enable_services[thumbprint]
            steps.append(
                {
                    "action": "enable_services",
                    "params": {"thumbprint": thumbprint, "services": list(services)},
                    "reason": reason,
                }
            )
        for connector, tls_name in sorted(self.set_connectors, key=lambda c: (c[0].kind != "send", c[0].identity)):
            steps.append(
                {
                    "action": "set_connector",
                    "params": {
                        "kind": connector.kind,
                        "identity": connector.identity,
                        "tls_certificate_name": tls_name,
                    },
                    "reason": f"{connector.kind} connector {connector.identity} names "
                    f"{connector.tls_certificate_name or 'no certificate'}",
                }
            )
        if self.set_hybrid is not None:
            steps.append(
                {
                    "action": "set_hybrid",
                    "params": {"tls_certificate_name": self.set_hybrid},
                    "reason": "the hybrid configuration names another certificate",
                }
            )
        for binding, thumbprint in sorted(self.set_iis, key=lambda b: (b[0].site, b[0].binding)):
            steps.append(
                {
                    "action": "set_iis_binding",
                    "params": {"site": binding.site, "binding": binding.binding, "thumbprint": thumbprint},
                    "reason": f"IIS binding {binding.site} {binding.binding} uses "
                    f"{binding.thumbprint or 'no certificate'}",
                }
            )
        removals = sorted(self.removals)
        for thumbprint, _reason in removals:
            steps.append(
                {
                    "action": "backup",
                    "params": {
                        "thumbprint": thumbprint,
                        "store": "My",
                        "directory": desired.backup_directory if desired else None,
                        "password": desired.backup_password if desired else None,
                    },
                    "reason": f"keep a verified copy before removing {thumbprint}",
                }
            )
        for thumbprint, reason in removals:
            steps.append({"action": "remove", "params": {"thumbprint": thumbprint, "store": "My"}, "reason": reason})
        return steps

    def steps(self, desired: Any) -> list[Step]:
        return [
            Step(index, raw["action"], MappingProxyType(raw["params"]), raw["reason"])
            for index, raw in enumerate(self.raw_steps(desired), start=1)
        ]
