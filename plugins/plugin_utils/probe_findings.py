"""Findings that only the evidence modules (probe, protocol log) emit.

They share the engine's :class:`Finding` shape so that reports treat them the
same way. The engine's catalogue (``findings.CODES``) does not list these
codes yet; until it does, :class:`EvidenceFinding` accepts them and keeps
every other code checked against the catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils.findings import CODES, ERROR, Finding

EVIDENCE_CODES: Mapping[str, str] = MappingProxyType(
    {
        "starttls_not_offered": ERROR,  # the server's EHLO reply did not list STARTTLS
        "tls_failure_logged": ERROR,  # the protocol log recorded a failed TLS negotiation
    }
)


@dataclass(frozen=True)
class EvidenceFinding(Finding):
    def __post_init__(self) -> None:
        if self.code in EVIDENCE_CODES and self.code not in CODES:
            return
        super().__post_init__()


def evidence_finding(code: str, message: str, evidence: Mapping[str, Any], fix: str | None = None) -> Finding:
    """A finding with the catalogue's severity for ``code`` (engine or evidence codes)."""
    severity = CODES.get(code) or EVIDENCE_CODES[code]
    return EvidenceFinding(code, severity, message, MappingProxyType(dict(evidence)), fix)
