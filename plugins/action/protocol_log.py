"""Action plugin for certwarden.exchange.protocol_log: parse on the controller, read through the agent."""

from __future__ import annotations

from typing import Any

from ansible_collections.certwarden.exchange.plugins.modules import protocol_log as module_doc
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.protocol_log import (
    LogSummary,
    log_files,
    summarise_agent_files,
    summarise_paths,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.protocol_log_correlate import (
    describe_presented,
    verbose_steps,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import (
    CertwardenAction,
    ModuleFailure,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.log_pages import read_log_pages
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import run_agent


class ActionModule(CertwardenAction):
    MODULE = "protocol_log"
    DOCUMENTATION = module_doc.DOCUMENTATION
    # Verbose logging is a change on the server; src reads files on the controller only.
    MUTUALLY_EXCLUSIVE = [["src", "enable_verbose"], ["src", "disable_verbose"]]

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        summary = LogSummary(params["keep_sessions"], params["max_sessions"], params["connectors"])
        if params["src"]:
            result = summarise_paths(log_files(params["src"]), summary).result()
            result["changed"] = False
            return result
        host = task_vars.get("inventory_hostname", "the host")
        read = None
        steps: list[dict] = []
        if params["correlate"] or params["enable_verbose"] or params["disable_verbose"]:
            read = run_agent(self._connection, host, "read", {})
        if params["enable_verbose"] or params["disable_verbose"]:
            if read is None:  # narrowing for type checkers; callers guarantee it
                raise AssertionError("read must be set here")
            steps = verbose_steps(read, params["enable_verbose"], "Verbose", "enable_verbose")
            steps += verbose_steps(read, params["disable_verbose"], "None", "disable_verbose")
            if steps and not self.check_mode:
                request = [{k: v for k, v in s.items() if k != "from"} for s in steps]
                applied = run_agent(self._connection, host, "apply", {"steps": request})
                if applied.get("failed"):
                    raise ModuleFailure(
                        f"protocol_log: setting the protocol logging level on {host} failed",
                        changed=any(r.get("status") == "changed" for r in applied.get("results", [])),
                        apply_results=applied.get("results", []),
                    )
        logs = read_log_pages(self._connection, host, params["paths"], params["since"], params["max_bytes"])
        summarise_agent_files(logs.get("files", []), summary)
        correlation = None
        if params["correlate"] and read is not None:
            correlation = describe_presented(Snapshot.from_read_result(read), sorted(summary.presented))
        result = summary.result(correlation)
        result["changed"] = bool(steps)
        if params["enable_verbose"] or params["disable_verbose"]:
            result["verbose_steps"] = steps
        return result
