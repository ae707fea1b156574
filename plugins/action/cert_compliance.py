# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for certwarden.exchange.cert_compliance: inputs in, one compliance run out."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleError

from ansible_collections.certwarden.exchange.plugins.modules import cert_compliance as module_doc
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import normalize_thumbprint
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import (
    CertwardenAction,
    ModuleFailure,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.channel import channel_risk
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.compliance_run import run_compliance
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.controller_files import (
    load_chain_bundle,
    load_pfx,
    read_controller_file,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.wire_probes import (
    check_probe_options,
    with_probes,
)


def check_declared_values(params: dict[str, Any]) -> None:
    """Values the argument spec accepts but that cannot mean what the user wrote."""
    wanted = params.get("certificate")
    if wanted is not None and wanted.get("thumbprint") is None and not wanted.get("pfx"):
        raise ModuleFailure(
            "option certificate: neither certificate.thumbprint nor certificate.pfx was declared; give one of them, "
            "or omit certificate for store-wide checks only"
        )
    backup = params.get("backup") or {}
    if backup.get("local_directory") is not None and not str(backup["local_directory"]).strip():
        raise ModuleFailure(
            f"option backup.local_directory: {backup['local_directory']!r} is empty; give a folder on the "
            "controller, or omit the option to keep backups on the server only"
        )


class ActionModule(CertwardenAction):
    MODULE = "cert_compliance"
    DOCUMENTATION = module_doc.DOCUMENTATION
    ANALYSES = True
    PROBES = True

    def _read_file(self, option: str, path: str) -> bytes:
        try:
            located = self._find_needle("files", path) if not path.startswith("/") else path
        except AnsibleError:
            raise ModuleFailure(
                f"option {option}: '{path}' is not a file on the controller (searched as a path relative to the "
                "playbook's and role's files/ folders)"
            ) from None

        def vault_aware(real: str) -> bytes:
            with open(self._loader.get_real_file(real, decrypt=True), "rb") as handle:
                return handle.read()

        return read_controller_file(located, option, vault_aware)

    def desired_state(self, params: dict[str, Any]) -> DesiredState | None:
        check_declared_values(params)
        wanted = params.get("certificate") or {}
        thumbprint = wanted.get("thumbprint")
        normalized = normalize_thumbprint(thumbprint, "certificate.thumbprint") if thumbprint is not None else None
        pfx = None
        if wanted.get("pfx"):
            pfx = load_pfx(self._read_file("certificate.pfx", wanted["pfx"]), wanted.get("password"), wanted["pfx"])
        chain = list(pfx.chain) if pfx else []
        if params.get("chain"):
            chain += load_chain_bundle(params["chain"], self._read_file("chain", params["chain"]))
        backup = params.get("backup") or {}
        return DesiredState(
            thumbprint=normalized,
            pfx_certificate=pfx.certificate if pfx else None,
            pfx_b64=pfx.leaf_pfx_b64 if pfx else None,
            pfx_legacy_b64=pfx.leaf_pfx_legacy_b64 if pfx else None,
            pfx_password=wanted.get("password") if pfx else None,
            chain=tuple(chain),
            install_root=params["install_root"],
            services=tuple(params["services"]),
            send_connectors=tuple(params["send_connectors"]),
            receive_connectors=tuple(params["receive_connectors"]),
            hybrid_configuration=params["hybrid_configuration"],
            iis_bindings=tuple(params["iis_bindings"]),
            duplicates=params["duplicates"],
            expiry_warning_days=params["expiry_warning_days"],
            backup_directory=backup.get("remote_directory") or DesiredState.backup_directory,
            backup_password=backup.get("password"),
            backup_certificate_only=bool(backup.get("certificate_only")),
            retire=tuple(normalize_thumbprint(value, "retire") for value in params.get("retire") or ()),
            replace_internal_transport=params["replace_internal_transport_certificate"],
        )

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        desired = self.desired_state(params)
        check_probe_options(params["probes"])
        backup = params.get("backup") or {}
        staged = tuple(normalize_thumbprint(value, "staged") for value in params.get("staged") or ())
        channel = (channel_risk(self._connection), params["insecure_channel"])
        return with_probes(
            lambda: run_compliance(
                self._connection,
                task_vars.get("inventory_hostname", self._play_context.remote_addr),
                desired,
                check_mode=self.check_mode,
                diff_mode=self.diff_mode,
                local_backup_directory=backup.get("local_directory"),
                staged=staged,
                channel=channel,
                restart_services=params["restart_services"],
            ),
            params["probes"],
            desired.intended_thumbprint if desired else None,
        )
