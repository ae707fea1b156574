# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for certwarden.exchange.cert_restore."""

from __future__ import annotations

from typing import Any

from ansible_collections.certwarden.exchange.plugins.modules import cert_restore as module_doc
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import normalize_thumbprint
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import CertwardenAction
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.channel import channel_risk
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.restore_run import run_restore


class ActionModule(CertwardenAction):
    MODULE = "cert_restore"
    DOCUMENTATION = module_doc.DOCUMENTATION

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        thumbprints = {normalize_thumbprint(t, "thumbprints") for t in params["thumbprints"]}
        return run_restore(
            self._connection,
            task_vars.get("inventory_hostname", self._play_context.remote_addr),
            params,
            thumbprints,
            check_mode=self.check_mode,
            diff_mode=self.diff_mode,
            risk=channel_risk(self._connection),
        )
