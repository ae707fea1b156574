"""cert_compliance's probes: what each endpoint presents on the wire, beside what the store would present.

The probes run in the task's own worker, after the read, from the controller (``_evidence/tls_probe``): no
WinRM command, no Exchange load, and no task of their own. Each result is exactly what smtp_tls_probe returns
for the same options, so that every reader of a probe's result (the verdict, the report) reads these too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.tls_probe import (
    ProbeError,
    check_endpoint,
    run_probe,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.wire_vs_store import PROTOCOL_BY_TLS
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import ModuleFailure


def check_probe_options(probes: Sequence[Mapping[str, Any]]) -> None:
    """Reject a probe that cannot mean what was written before the server is read."""
    for index, probe in enumerate(probes):
        try:
            check_endpoint(probe["port"], probe["timeout"], f"probes[{index}].")
        except InputError as error:
            raise ModuleFailure(str(error)) from None


def _probe_one(probe: Mapping[str, Any], expected: str | None, presentation: Mapping[str, Any]) -> dict[str, Any]:
    # The EHLO name and each trust bundle are read once per process (probe_wire.controller_fqdn,
    # trust_bundle.load_trust), so each probe asks for them itself.
    params = {**probe, "expected_thumbprint": expected, "stored": presentation.get(PROTOCOL_BY_TLS[probe["tls"]])}
    try:
        return {**run_probe(params), "failed": False}
    except (ProbeError, ValueError) as error:
        # What a failed smtp_tls_probe task returns, plus where: the check's own result is kept.
        return {
            "failed": True,
            "changed": False,
            "compliant": False,
            "msg": f"smtp_tls_probe: {error}",
            "endpoint": f"{probe['host']}:{probe['port']}",
            "protocol": PROTOCOL_BY_TLS[probe["tls"]],
        }


def probe_endpoints(
    probes: Sequence[Mapping[str, Any]], expected: str | None, presentation: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """One smtp_tls_probe result per probe, in order; ``presentation`` is the check's (None when it has none)."""
    return [_probe_one(probe, expected, presentation or {}) for probe in probes]


def with_probes(
    run: Callable[[], dict[str, Any]], probes: Sequence[Mapping[str, Any]], expected: str | None
) -> dict[str, Any]:
    """``run()`` (a compliance run), then the probes; a run that failed with its findings is probed too.

    A server whose plan is blocked (only a person can resolve it) still reports its findings, and what it
    presents on the wire belongs beside them; a run that failed without findings (unreachable, bad input)
    is not probed.
    """
    try:
        result = run()
    except ModuleFailure as failure:
        if probes and "findings" in failure.details:
            failure.details["probes"] = probe_endpoints(probes, expected, failure.details.get("presentation"))
        raise
    if probes:
        result["probes"] = probe_endpoints(probes, expected, result.get("presentation"))
    return result
