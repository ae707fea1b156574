"""How the simulated agent gets the Exchange cmdlets, as Microsoft documents it (docs/lab.md).

Outside Edge Transport, Exchange is managed through the server's own remote
PowerShell endpoint (``http://<fqdn>/PowerShell``, configuration
``Microsoft.Exchange``), which authenticates with Kerberos and then reads
Active Directory as the caller. A WinRM logon that cannot delegate (NTLM,
Kerberos without delegation) holds no credential the server can pass on, so
that second hop fails unless an explicit credential is given (which logons can
is the authentication layer's call: docs/lab.md "The double hop"). Edge
Transport has no such endpoint: the snap-in is loaded locally.

``host.json`` may hold (all optional):

* ``exchange_role``: ``Mailbox`` (default) or ``Edge``;
* ``exchange_shell``: ``preloaded`` (the cmdlets are already in the session),
  ``endpoint`` (``up``, ``unreachable``, ``broken``: the session opens but the
  import fails), ``rbac_missing`` (cmdlets the account's roles do not expose),
  ``load_ms`` (what a load is reported to take), ``accounts`` (extra
  ``{user, password}`` the endpoint accepts besides the WinRM account).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Every Exchange cmdlet agent.ps1 calls; a remote session imports only these.
AGENT_CMDLETS = (
    "Get-ExchangeServer",
    "Get-ExchangeCertificate",
    "Enable-ExchangeCertificate",
    "Get-SendConnector",
    "Set-SendConnector",
    "Get-ReceiveConnector",
    "Set-ReceiveConnector",
    "Get-TransportService",
    "Get-FrontendTransportService",
    "Get-HybridConfiguration",
    "Set-HybridConfiguration",
    "Get-AuthConfig",
    "Get-FederationTrust",
)
# Edge Transport has no hybrid configuration cmdlets and no Front End Transport service.
EDGE_ABSENT = frozenset({"Get-HybridConfiguration", "Set-HybridConfiguration", "Get-FrontendTransportService"})
DEFAULT_LOAD_MS = 2500


@dataclass(frozen=True)
class ExchangeLoad:
    """The outcome of loading Exchange once in one agent run."""

    installed: bool
    role: str | None
    method: str | None = None  # session | snapin | remote_credential | remote_delegated
    cause: str | None = None  # double_hop | access_denied | endpoint_unreachable | shell_load
    message: str | None = None
    milliseconds: int = 0
    cmdlets: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.method is not None

    def record(self) -> dict[str, Any]:
        """What the agent reports about the load (``read``'s ``exchange_load``)."""
        return {
            "installed": self.installed,
            "role": self.role,
            "method": self.method,
            "milliseconds": self.milliseconds,
            "cause": self.cause,
            "message": self.message,
            "cmdlets": dict(self.cmdlets) if self.ok else None,
        }


def _credential_accepted(info: dict[str, Any], credential: dict[str, Any]) -> bool:
    shell = info.get("exchange_shell") or {}
    accounts = [info.get("auth") or {}, *(shell.get("accounts") or [])]
    user, password = str(credential.get("user") or ""), str(credential.get("password") or "")
    return any(user.lower() == str(a.get("user", "")).lower() and password == a.get("password") for a in accounts)


def _cmdlets(role: str, missing: list[str]) -> dict[str, bool]:
    """Whether each cmdlet the agent calls is there: not on Edge for some, not without the granting RBAC role."""
    absent = EDGE_ABSENT if role == "Edge" else frozenset()
    return {name: name not in missing and name not in absent for name in AGENT_CMDLETS}


def load_exchange(info: dict[str, Any], credential: Any, logon_can_delegate: bool) -> ExchangeLoad:
    """Load Exchange the way agent.ps1 does: cmdlets in session, snap-in on Edge, else the local endpoint."""
    if not info.get("exchange"):
        return ExchangeLoad(installed=False, role=None)
    role = str(info.get("exchange_role") or "Mailbox")
    shell = info.get("exchange_shell") or {}
    elapsed = int(shell.get("load_ms", DEFAULT_LOAD_MS))
    cmdlets = _cmdlets(role, list(shell.get("rbac_missing") or []))
    if shell.get("preloaded"):
        return ExchangeLoad(True, role, "session", cmdlets=cmdlets)
    if role == "Edge":
        return ExchangeLoad(True, role, "snapin", milliseconds=elapsed, cmdlets=cmdlets)
    endpoint = shell.get("endpoint", "up")
    url = f"http://{info.get('fqdn')}/PowerShell/"
    if endpoint == "unreachable":
        text = f"Connecting to remote server {info.get('fqdn')} failed: WinRM cannot complete the operation."
        return ExchangeLoad(True, role, cause="endpoint_unreachable", message=text, milliseconds=elapsed)
    if isinstance(credential, dict):
        if not _credential_accepted(info, credential):
            text = f"Connecting to remote server {url} failed: Access is denied."
            return ExchangeLoad(True, role, cause="access_denied", message=text, milliseconds=elapsed)
        method = "remote_credential"
    elif logon_can_delegate:
        method = "remote_delegated"
    else:
        text = (
            f"Connecting to remote server {info.get('fqdn')} failed with the following error message : WinRM cannot "
            "process the request. The following error with errorcode 0x8009030e occurred while using Kerberos "
            "authentication: A specified logon session does not exist. It may already have been terminated."
        )
        return ExchangeLoad(True, role, cause="double_hop", message=text, milliseconds=elapsed)
    if endpoint == "broken":
        text = "Import-PSSession: Running the Get-Command command in a remote session reported an error."
        return ExchangeLoad(True, role, cause="shell_load", message=text, milliseconds=elapsed)
    return ExchangeLoad(True, role, method, milliseconds=elapsed, cmdlets=cmdlets)
