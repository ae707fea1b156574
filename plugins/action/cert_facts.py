# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for certwarden.exchange.cert_facts: one read, parsed, with store-wide findings."""

from __future__ import annotations

from typing import Any

from ansible_collections.certwarden.exchange.plugins.modules import cert_facts as module_doc
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import analyse
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import CertwardenAction
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.compliance_run import utc_now
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.facts_export import save_read
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.agent_calls import read_snapshot


class ActionModule(CertwardenAction):
    MODULE = "cert_facts"
    DOCUMENTATION = module_doc.DOCUMENTATION
    ANALYSES = True

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        host = task_vars.get("inventory_hostname", self._play_context.remote_addr)
        snapshot = read_snapshot(self._connection, host)
        now = utc_now()
        # No intended certificate: store-wide checks only, and nothing to plan.
        desired = DesiredState(expiry_warning_days=params["expiry_warning_days"], duplicates="report")
        analysis = analyse(snapshot, desired, now)
        result = {
            "changed": False,
            "ansible_facts": {"certwarden_exchange": snapshot.to_facts(now, include_der=params["include_der"])},
            "findings": analysis.to_dict()["findings"],
            "compliant": analysis.compliant,
        }
        if params.get("save_to"):
            saved = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            result["saved_to"] = save_read(params["save_to"], host, snapshot.to_read_result(), saved)
        return result
