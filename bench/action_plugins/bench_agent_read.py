"""Bench-only action: the floor of any task that reads a server with the agent.

Given cert_compliance's own arguments (ansible templates them exactly as for the
check), it sends the agent's ``read`` over the task's connection and returns
nothing: no argument validation, no parsing of the read, no analysis, no result
to speak of. What a check task costs above this is the collection's own work;
what this costs above a raw task is ansible's templating of the arguments and
the agent's round trip. Used by bench/bench_winrm.py --floor; never outside a
benchmark.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import run_agent


class ActionModule(ActionBase):
    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        run_agent(self._connection, (task_vars or {}).get("inventory_hostname", "?"), "read", {})
        result["changed"] = False
        return result
