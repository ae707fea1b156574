"""Compare what a server presents with what its own store would present: a pending restart.

A Windows service presents the certificate and chain it loaded when it last
started. When the store already holds the right certificate with a complete
chain (cert_compliance's ``presentation``) but the wire shows something else,
nothing is missing on the server: the service has not restarted since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.findings import Finding, finding
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    Certificate,
    InputError,
    normalize_thumbprint,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.restarts import SERVICES_BY_PROTOCOL

PROTOCOL_BY_TLS = {"starttls": "SMTP", "implicit": "SMTP", "https": "IIS"}


def parse_stored(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Option ``stored``: ``{certificate, chain, complete}`` as cert_compliance returns it per protocol."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InputError(f"option stored: expected cert_compliance's presentation entry (a dict), got {value!r}")
    certificate = value.get("certificate")
    chain = value.get("chain") or []
    if not isinstance(chain, list):
        raise InputError(f"option stored: chain must be a list of thumbprints, got {chain!r}")
    return {
        "certificate": normalize_thumbprint(certificate, "stored.certificate") if certificate else None,
        "chain": [normalize_thumbprint(t, "stored.chain") for t in chain],
        "complete": bool(value.get("complete")),
    }


def restart_pending(
    stored: dict[str, Any] | None, sent: Sequence[Certificate], tls: str, expected: str | None, where: str
) -> list[Finding]:
    """``restart_pending`` when the store is right (expected certificate, complete chain) but the wire is not."""
    if stored is None or not stored["certificate"] or not stored["complete"] or not sent:
        return []
    if expected and stored["certificate"] != expected:
        return []  # the store is wrong too: the other findings say what to fix there
    presented = {"certificate": sent[0].thumbprint, "chain": [c.thumbprint for c in sent[1:] if not c.is_self_signed]}
    if presented["certificate"] == stored["certificate"] and presented["chain"] == stored["chain"]:
        return []
    services = SERVICES_BY_PROTOCOL[PROTOCOL_BY_TLS[tls]]
    return [
        finding(
            "restart_pending",
            f"{where} presents {presented['certificate']} with the chain {', '.join(presented['chain']) or '(none)'}, "
            f"but the server's store would present {stored['certificate']} with "
            f"{', '.join(stored['chain']) or '(none)'}: {' and '.join(services)} still serve what they loaded when "
            "they last started. Restart them (restart_services: when_needed).",
            {"stored": stored, "presented": presented, "services": list(services)},
            fix="restart_service",
        )
    ]
