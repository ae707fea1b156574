"""Certificates that must already be on a server for a coming renewal, judged on the read the check made.

The pre-renewal gate asks two things of one read: is the server right today (the declared state), and is the
next certificate staged (present with its private key, valid, its chain complete)? Judging the second from the
same snapshot keeps the gate at one WinRM command per server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import analyse
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot

# What "staged" means: the certificate is there, usable and chained. Bindings are the rollout's job.
STAGED_CODES = frozenset(
    {
        "missing_intended_certificate",
        "no_private_key",
        "expired",
        "not_yet_valid",
        "expiring_soon",
        "incomplete_chain",
        "untrusted_root",
        "expired_intermediate",
        "chain_invalid",
        "bundle_does_not_chain",
    }
)


def staged_findings(
    snapshot: Snapshot, desired: DesiredState | None, thumbprints: tuple[str, ...], now: dt.datetime
) -> list[dict[str, Any]]:
    """The findings that say a certificate in ``thumbprints`` is not staged (the chain bundle is ``desired``'s)."""
    base = desired or DesiredState()
    found: list[dict[str, Any]] = []
    for thumbprint in thumbprints:
        alone = replace(
            base,
            thumbprint=thumbprint,
            pfx_certificate=None,
            pfx_b64=None,
            pfx_password=None,
            services=(),
            send_connectors=(),
            receive_connectors=(),
            hybrid_configuration=False,
            iis_bindings=(),
            duplicates="report",
            retire=(),
        )
        analysis = analyse(snapshot, alone, now)
        for item in analysis.findings + analysis.blockers:
            if item.code in STAGED_CODES:
                shown = item.to_dict()
                shown["evidence"] = {**shown["evidence"], "staged": thumbprint}
                found.append(shown)
    return found
