"""Action plugin for certwarden.exchange.smtp_tls_probe: runs the probe on the controller."""

from __future__ import annotations

from typing import Any

from ansible_collections.certwarden.exchange.plugins.modules import smtp_tls_probe as module_doc
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.tls_probe import ProbeError, run_probe
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import (
    CertwardenAction,
    ModuleFailure,
)


class ActionModule(CertwardenAction):
    MODULE = "smtp_tls_probe"
    DOCUMENTATION = module_doc.DOCUMENTATION
    PROBES = True

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        try:
            return run_probe(params)
        except ProbeError as error:
            raise ModuleFailure(f"smtp_tls_probe: {error}", changed=False, compliant=False) from None
