# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for certwarden.exchange.compliance_verdict: registered results in, a visible verdict out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ansible_collections.certwarden.exchange.plugins.modules import compliance_verdict as module_doc
from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.drift_text import verdict
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import (
    CertwardenAction,
    ModuleFailure,
)


def current_findings(results: list[Any]) -> Iterator[dict[str, Any]]:
    """The findings that describe each server now: the verifying read's when a result applied changes.

    A cert_compliance result's ``probes`` are results of their own (what smtp_tls_probe returns).
    """
    for result in results:
        if not isinstance(result, dict) or result.get("skipped"):
            continue
        source = result.get("findings_after") if "findings_after" in result else result.get("findings")
        yield from (item for item in source or [] if isinstance(item, dict) and item.get("code"))
        probes = result.get("probes")
        if isinstance(probes, list):
            yield from current_findings(probes)


def failed_probes(results: list[Any]) -> list[str]:
    """Why each probe inside a cert_compliance result could not see its endpoint."""
    return [
        str(probe.get("msg") or f"could not probe {probe.get('endpoint')}")
        for result in results
        if isinstance(result, dict) and isinstance(result.get("probes"), list)
        for probe in result["probes"]
        if isinstance(probe, dict) and probe.get("failed")
    ]


def registered_results(names: list[str], task_vars: dict[str, Any], host: str) -> list[Any]:
    """The registered variables ``names``, as the host holds them (never templated: module output is data)."""
    missing = [name for name in names if name not in task_vars]
    if missing:
        raise ModuleFailure(
            f"option registered: {host} has no variable {', '.join(map(repr, missing))}; name the register: of "
            "a task that ran on it"
        )
    return [task_vars[name] for name in names]


class ActionModule(CertwardenAction):
    MODULE = "compliance_verdict"
    DOCUMENTATION = module_doc.DOCUMENTATION

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        host = str(task_vars.get("inventory_hostname", self._play_context.remote_addr))
        if not params["results"] and not params["registered"]:
            raise ModuleFailure("compliance_verdict: give the results to judge in results or registered")
        results = [*params["results"], *registered_results(params["registered"], task_vars, host)]
        fail_on = params["fail_on"]
        judged = verdict(host, current_findings(results), fail_on, params["as_errors"])
        result: dict[str, Any] = {
            "msg": judged.headline(fail_on),
            "drift": list(judged.lines),
            "drifting": judged.drifting,
            "changed": judged.drifting and not judged.fails,
            "failed": judged.fails,
        }
        unprobed = failed_probes(results)
        if unprobed:
            # The server is not judged whole: what its endpoints present is unknown.
            result.update(msg=f"{host} could not be probed: {'; '.join(unprobed)}", changed=False, failed=True)
        if judged.drifting:
            # Shown at the default verbosity, one finding per line, like a debug task's result.
            result["_ansible_verbose_always"] = True
        return result
