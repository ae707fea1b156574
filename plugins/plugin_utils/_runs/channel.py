"""Whether secrets sent to a host can be read or changed on the way, and what to do about it.

A PFX, its password and the backup password travel in the apply request. Over
plain HTTP without message encryption anyone on the path reads them; over HTTPS
without server certificate validation anyone who can intercept the connection
does. Such a run warns once per host, or, with ``insecure_channel: fail``,
stops before the apply (nothing changed). cert_compliance sends the PFX, its
password and the backup password; cert_restore sends PFX backups with their
password, and the backup password when it fetches an interrupted backup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import ModuleFailure
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.connection_options import connection_option

# pywinrm / pypsrp encrypt the message itself over HTTP with these authentications (message_encryption auto).
_ENCRYPTING_AUTH = ("ntlm", "kerberos", "credssp", "negotiate")


def _extra(connection: Any, name: str) -> Any:
    extras = connection_option(connection, "_extras") or {}
    return extras.get(name) if isinstance(extras, dict) else None


def channel_risk(connection: Any) -> str | None:
    """Why this connection would expose secrets, or None when it does not (winrm and psrp)."""
    if getattr(connection, "transport", None) in ("psrp", "ansible.builtin.psrp"):
        scheme = str(connection_option(connection, "protocol") or "https")
        validation = str(connection_option(connection, "cert_validation") or "validate")
        auth = [str(connection_option(connection, "auth") or "negotiate")]
        encryption = str(connection_option(connection, "message_encryption") or "auto")
    else:
        port = connection_option(connection, "port")
        scheme = str(connection_option(connection, "scheme") or ("http" if port == 5985 else "https"))
        validation = str(_extra(connection, "ansible_winrm_server_cert_validation") or "validate")
        auth = connection_option(connection, "transport") or ["basic"]
        auth = [str(a) for a in (auth if isinstance(auth, list) else str(auth).split(","))]
        encryption = str(_extra(connection, "ansible_winrm_message_encryption") or "auto")
    if scheme == "http" and (encryption == "never" or not any(a.strip() in _ENCRYPTING_AUTH for a in auth)):
        return f"plain HTTP without message encryption (authentication {', '.join(auth)})"
    if scheme == "https" and validation == "ignore":
        return "HTTPS without server certificate validation (server_cert_validation: ignore)"
    return None


def secrets_in(steps: Sequence[Step]) -> list[str]:
    """What secret each step would carry to the server."""
    carried = []
    for step in steps:
        if step.action == "import_pfx":
            carried.append("the PFX and its password")
        elif step.action == "backup" and step.params.get("password"):
            carried.append("the backup password")
    return list(dict.fromkeys(carried))


class SecretsChannel:
    """One host's verdict on its channel for a run that may apply more than once: refuse before, or warn once.

    cert_restore applies twice (fetching interrupted backups, then restoring); the user gets one warning
    naming everything the run sent, and ``fail`` stops before the first apply that would carry a secret.
    """

    def __init__(self, host: str, risk: str | None, policy: str) -> None:
        self.host, self.risk, self.policy = host, risk, policy
        self.carried: list[str] = []

    def before_apply(self, steps: Sequence[Step], result: dict[str, Any]) -> None:
        """Call before sending ``steps``; ``result`` is what the task returns if it stops here."""
        new = secrets_in(steps)
        if self.risk is None or not new:
            return
        self.carried = list(dict.fromkeys([*self.carried, *new]))
        if self.policy == "fail":
            raise ModuleFailure(
                f"option insecure_channel: {self._message(new)}; nothing was changed (use HTTPS with certificate "
                "validation, or set insecure_channel: warn)",
                **{**result, "changed": False},
            )

    def _message(self, carried: Sequence[str]) -> str:
        return f"{' and '.join(carried)} would travel to {self.host} over {self.risk}"

    def warn(self, result: dict[str, Any]) -> None:
        """Add the one warning (if anything was carried) to ``result``."""
        if self.carried:
            message = f"{self._message(self.carried)}; set insecure_channel: fail to refuse this"
            result.setdefault("warnings", []).append(message)


def guard_secrets(steps: Sequence[Step], host: str, risk: str | None, policy: str, result: dict[str, Any]) -> None:
    """Warn (into ``result``) or stop before the apply when secrets would cross an unverified channel."""
    channel = SecretsChannel(host, risk, policy)
    channel.before_apply(steps, result)
    channel.warn(result)
