# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for certwarden.exchange.selftest: one timed read, reported, and an optional support bundle."""

from __future__ import annotations

from typing import Any

from ansible_collections.certwarden.exchange.plugins.modules import selftest as module_doc
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import CertwardenAction
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.selftest_run import run_selftest


class ActionModule(CertwardenAction):
    MODULE = "selftest"
    DOCUMENTATION = module_doc.DOCUMENTATION

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        host = task_vars.get("inventory_hostname", self._play_context.remote_addr)
        return run_selftest(self._connection, host, params.get("bundle_directory"))
