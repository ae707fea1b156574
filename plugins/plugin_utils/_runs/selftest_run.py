"""What a first contact with a real server must tell: can the agent run there, and load Exchange, and how.

One ``read``, timed, turned into a report (docs/windows.md says what each line
checks) and, on request, a support bundle: the read result without certificate
bytes, without the credential, and checked to hold no password.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.private_file import write_private_file
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.connection_options import connection_option
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.exchange_credential import credential_for
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import AgentError, run_agent

# The management role that grants each cmdlet the agent calls, by Microsoft's role names (an account missing one
# can confirm with Get-ManagementRole -Cmdlet <name>).
GRANTING_ROLE = {
    "Get-ExchangeServer": "Exchange Servers (or View-Only Configuration)",
    "Get-ExchangeCertificate": "Exchange Server Certificates",
    "Enable-ExchangeCertificate": "Exchange Server Certificates",
    "Get-SendConnector": "Send Connectors (or View-Only Configuration)",
    "Set-SendConnector": "Send Connectors",
    "Get-ReceiveConnector": "Receive Connectors (or View-Only Configuration)",
    "Set-ReceiveConnector": "Receive Connectors",
    "Get-TransportService": "Exchange Servers (or View-Only Configuration)",
    "Get-FrontendTransportService": "Exchange Servers (or View-Only Configuration)",
    "Get-HybridConfiguration": "Organization Management role group (see Get-ManagementRole -Cmdlet)",
    "Set-HybridConfiguration": "Organization Management role group (see Get-ManagementRole -Cmdlet)",
    "Get-AuthConfig": "a role that holds it (Get-ManagementRole -Cmdlet Get-AuthConfig names them)",
    "Get-FederationTrust": "a role that holds it (Get-ManagementRole -Cmdlet Get-FederationTrust names them)",
}
# Listed when missing, but no problem: without them the read cannot tell the OAuth and federation
# certificates, so no self-signed copy is removed; nothing fails.
OPTIONAL_CMDLETS = frozenset({"Get-AuthConfig", "Get-FederationTrust"})
EDGE_ABSENT = frozenset({"Get-FrontendTransportService", "Get-HybridConfiguration", "Set-HybridConfiguration"})
# read_logs sends at most 8 MB of file bytes; as base64 inside JSON, held as UTF-16 strings, a shell needs
# several times that (docs/windows.md).
MIN_SHELL_MEMORY_MB = 150
MIN_POWERSHELL = (5, 1)


def logon_can_delegate(connection: Any, logon: dict[str, Any]) -> bool:
    """Basic and CredSSP hand the server the password, Kerberos with delegation a forwarded ticket (docs/windows.md)."""
    options = {
        name: connection_option(connection, name)
        for name in ("transport", "auth", "kerberos_delegation", "negotiate_delegate")
    }
    transports = options["transport"] if isinstance(options["transport"], list) else [options["transport"]]
    mechanisms = {str(m).lower() for m in [*transports, options["auth"]] if m}
    delegated_kerberos = bool(options["kerberos_delegation"] or options["negotiate_delegate"]) and bool(
        mechanisms & {"kerberos", "negotiate"}
    )
    holds_password = bool(mechanisms & {"credssp", "basic"})
    return holds_password or delegated_kerberos or logon.get("impersonation_level") == "Delegation"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def _cmdlets(load: dict[str, Any]) -> tuple[list[str], list[dict[str, str]]]:
    present = load.get("cmdlets") or {}
    skipped = EDGE_ABSENT if load.get("role") == "Edge" else frozenset()
    available = sorted(name for name, there in present.items() if there)
    missing = [
        {"cmdlet": name, "granted_by": GRANTING_ROLE.get(name, "see Get-ManagementRole -Cmdlet " + name)}
        for name, there in sorted(present.items())
        if not there and name not in skipped
    ]
    return available, missing


def _problems(host: dict[str, Any], load: dict[str, Any], missing: list[dict[str, str]]) -> list[str]:
    problems = []
    if _version(str(host.get("powershell_version") or "0")) < MIN_POWERSHELL:
        problems.append(f"Windows PowerShell {host.get('powershell_version')} is older than 5.1")
    memory = (host.get("winrm") or {}).get("max_memory_per_shell_mb")
    if isinstance(memory, int) and 0 < memory < MIN_SHELL_MEMORY_MB:
        problems.append(f"WinRM MaxMemoryPerShellMB is {memory}; protocol log reads need {MIN_SHELL_MEMORY_MB}")
    problems += [
        f"the account cannot run {m['cmdlet']}: grant {m['granted_by']}"
        for m in missing
        if m["cmdlet"] not in OPTIONAL_CMDLETS
    ]
    if load.get("installed") and not load.get("method"):
        problems.append(f"Exchange could not be loaded ({load.get('cause')}): {load.get('message')}")
    return problems


def build_report(result: dict[str, Any], seconds: float, can_delegate: bool) -> dict[str, Any]:
    host, load = result.get("host") or {}, result.get("exchange_load") or {}
    exchange = result.get("exchange") or {}
    available, missing = _cmdlets(load)
    return {
        "windows": {key: host.get(key) for key in ("os", "os_build", "powershell_version", "dotnet_release")}
        | {"fips_policy": host.get("fips_policy")},
        "exchange": {
            "installed": load.get("installed"),
            "role": load.get("role"),
            "version": exchange.get("version"),
            "loaded_by": load.get("method"),
            "load_seconds": round((load.get("milliseconds") or 0) / 1000, 3),
            "cmdlets_available": available,
            "cmdlets_missing": missing,
        },
        "logon": {**(host.get("logon") or {}), "can_delegate": can_delegate},
        "winrm": host.get("winrm"),
        "read_seconds": round(seconds, 3),
        "problems": _problems(host, load, missing),
    }


def redacted(result: dict[str, Any]) -> dict[str, Any]:
    """The read result for a support bundle: certificate bytes dropped, thumbprints and names kept."""
    copy = json.loads(json.dumps(result))
    for entries in (copy.get("stores") or {}).values():
        for entry in entries:
            entry.pop("der_b64", None)
    return copy


def write_bundle(directory: str, host: str, payload: dict[str, Any], secrets: list[str]) -> str:
    text = json.dumps(payload, indent=2, sort_keys=True)
    leaked = [s for s in secrets if s and s in text]
    if leaked:  # defence in depth: the read never carries a password
        raise AgentError(
            "refusing to write a support bundle that holds a password", host=host, operation="read", category="internal"
        )
    path = Path(directory) / f"certwarden-selftest-{host}.json"
    write_private_file(path, text.encode("utf-8"))
    return str(path)


def run_selftest(connection: Any, host: str, bundle_directory: str | None) -> dict[str, Any]:
    """The task result: the report, and the bundle's path when one was asked for."""
    credential = credential_for(connection) or {}
    started = time.monotonic()
    try:
        result = run_agent(connection, host, "read", {})
    except AgentError as error:
        if error.category == "connection":
            raise
        outcome: dict[str, Any] = {"changed": False, "failed": True, "msg": f"selftest: {error}"}
        if bundle_directory:
            payload = {"host": host, "error": str(error), "category": error.category}
            outcome["bundle"] = write_bundle(bundle_directory, host, payload, [credential.get("password", "")])
        return outcome
    seconds = time.monotonic() - started
    report = build_report(
        result, seconds, logon_can_delegate(connection, (result.get("host") or {}).get("logon") or {})
    )
    outcome = {"changed": False, "selftest": report, "failed": bool(report["problems"])}
    if report["problems"]:
        outcome["msg"] = "selftest: " + "; ".join(report["problems"])
    if bundle_directory:
        payload = {"report": report, "read": redacted(result)}
        outcome["bundle"] = write_bundle(bundle_directory, host, payload, [credential.get("password", "")])
    return outcome
