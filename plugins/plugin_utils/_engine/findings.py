"""Findings: one way a host differs from what it should be, with a stable code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.redaction import redact

ERROR = "error"
WARNING = "warning"

# Every code the engine emits, with its severity. docs/findings.md explains each one.
CODES: Mapping[str, str] = MappingProxyType(
    {
        "duplicate_certificate": ERROR,
        "missing_intended_certificate": ERROR,
        "no_private_key": ERROR,
        "expired": ERROR,
        "expiring_soon": WARNING,
        "not_yet_valid": ERROR,
        "incomplete_chain": ERROR,
        "untrusted_root": ERROR,
        "expired_intermediate": ERROR,
        "chain_invalid": ERROR,
        "missing_authority_key_identifier": WARNING,
        "service_not_enabled": ERROR,
        "connector_mismatch": ERROR,
        "connector_ambiguous": ERROR,
        "connector_certificate_not_found": ERROR,
        "plan_breaks_binding": ERROR,
        "connector_not_found": ERROR,
        "hybrid_mismatch": ERROR,
        "hybrid_not_found": ERROR,
        "iis_binding_mismatch": ERROR,
        "iis_binding_not_found": ERROR,
        "name_not_covered": ERROR,
        "weak_key": WARNING,
        "weak_signature": WARNING,
        "wrong_certificate_presented": ERROR,
        "revoked": ERROR,
        "internal_transport_certificate": ERROR,
        "binding_certificate_missing": ERROR,  # an IIS binding or Exchange services name a certificate in no store
        "bundle_does_not_chain": ERROR,
        "retired_certificate_present": ERROR,  # option retire names a certificate still in My; the plan removes it
        "retired_certificate_bound": ERROR,  # option retire names a certificate something still binds: kept
        # backup.remote_directory is unsafe on this server (a system folder, or an existing folder that is not
        # restricted): the plan's backups and removals cannot run, so the plan is empty.
        "backup_folder_refused": ERROR,
        # From the evidence modules: what the wire and the logs show.
        "starttls_not_offered": ERROR,  # the server's EHLO reply did not list STARTTLS (event 12014)
        "tls_failure_logged": ERROR,  # the protocol log recorded a failed TLS negotiation
        # The store holds the right certificate and chain but a service still presents what it loaded at its
        # last start (the wire, from smtp_tls_probe).
        "restart_pending": ERROR,
        # An apply changed what a service would present and restarted nothing (restart_services: never).
        "restart_needed": WARNING,
    }
)


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str  # "error" | "warning"
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    fix: str | None = None  # the step action that fixes it, or None

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown finding code {self.code!r}")
        if self.severity not in (ERROR, WARNING):
            raise ValueError(f"unknown severity {self.severity!r}")

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "evidence": redact(dict(self.evidence)),
            "fix": self.fix,
        }


def finding(code: str, message: str, evidence: Mapping[str, Any], fix: str | None = None) -> Finding:
    """A finding with the catalogue's severity for ``code``."""
    return Finding(code, CODES[code], message, MappingProxyType(dict(evidence)), fix)
