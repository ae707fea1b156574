"""The simulated agent: executes one request (docs/agent-protocol.md) on a host folder."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from tests.lab import folders, listeners
from tests.lab.exchange_oracle import root_ca_type, status_of, trust_pool
from tests.lab.exchange_shell import ExchangeLoad, load_exchange
from tests.lab.observer import observe
from tests.lab.smtp_log import log_outbound_sessions
from tests.lab.state import STORES, HostState, StoredCert
from tests.lab.steps import ACTIONS, StepFailed
from tests.lab.winnames import BadWindowsPath

UTC = dt.UTC
BEGIN = "<<<CERTWARDEN-BEGIN>>>"
END = "<<<CERTWARDEN-END>>>"
AGENT_MARKER = "# certwarden-agent "


class DropConnection(Exception):
    """A fault asks the server to close the connection at this point of an apply."""


class RequestError(Exception):
    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message


def agent_version_of(agent_text: str) -> str | None:
    """The version on the agent's marker line, or None when the text is not the agent."""
    for line in agent_text.splitlines():
        stripped = line.strip().lstrip("\ufeff")
        if stripped.startswith(AGENT_MARKER):
            return stripped[len(AGENT_MARKER) :].strip()
    return None


def _now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cert_entry(cert: StoredCert) -> dict[str, Any]:
    return {
        "thumbprint": cert.thumbprint,
        "der_b64": base64.b64encode(cert.der).decode("ascii"),
        "subject": cert.subject_dn,
        "issuer": cert.issuer_dn,
        "has_private_key": cert.has_private_key,
        "private_key_exportable": cert.exportable if cert.has_private_key else None,
        "friendly_name": cert.friendly_name,
    }


# The cmdlets a read calls; on Edge the hybrid and Front End ones do not exist and are not called.
READ_CMDLETS = (
    "Get-ExchangeServer",
    "Get-ExchangeCertificate",
    "Get-SendConnector",
    "Get-ReceiveConnector",
    "Get-TransportService",
    "Get-FrontendTransportService",
    "Get-HybridConfiguration",
)
EDGE_SKIPPED = frozenset({"Get-FrontendTransportService", "Get-HybridConfiguration"})


def require_cmdlets(host: HostState, load: ExchangeLoad, names: tuple[str, ...]) -> None:
    """The account's RBAC roles must expose every cmdlet the operation calls (agent.ps1 checks the same)."""
    missing = [name for name in names if not load.cmdlets.get(name, False)]
    if missing:
        raise RequestError(
            "exchange_unavailable",
            f"Exchange on {host.computer_name} does not expose {', '.join(missing)} to this account "
            "(rbac): its management roles do not include them",
        )


def _roles(config: dict[str, Any]) -> dict[str, str | None]:
    """The current, next and previous certificate thumbprints of an AuthConfig or a federation trust (empty: null)."""
    return {role: config.get(role) or None for role in ("current", "next", "previous")}


def _exchange(host: HostState, now: dt.datetime, load: ExchangeLoad) -> dict[str, Any] | None:
    if not load.ok:
        return None
    edge = load.role == "Edge"
    require_cmdlets(host, load, tuple(n for n in READ_CMDLETS if not (edge and n in EDGE_SKIPPED)))
    pool = trust_pool(host)
    table = host.exchange_certificates()
    certificates = []
    for cert in host.certificates("My"):
        entry = table.get(cert.thumbprint, {})
        certificates.append(
            {
                "thumbprint": cert.thumbprint,
                "services": list(entry.get("services", [])),
                "status": status_of(cert, pool, entry.get("status"), now),
                "root_ca_type": root_ca_type(cert, pool),
            }
        )
    server = host.computer_name
    transport = host.transport()
    return {
        "server": server,
        "role": load.role,
        "version": str(host.info.get("exchange_version", "15.2.1544.4")),
        "certificates": certificates,
        "send_connectors": host.send_connectors(shared=True),
        "receive_connectors": [
            c for c in host.receive_connectors(shared=True) if str(c.get("server", "")).lower() == server.lower()
        ],
        "hybrid_configuration": None if edge else host.hybrid(shared=True),
        "auth_config": None
        if edge or not load.cmdlets.get("Get-AuthConfig")
        else _roles(host.auth_config(shared=True)),
        "federation_trusts": None
        if edge or not load.cmdlets.get("Get-FederationTrust")
        # As agent.ps1: per trust, its thumbprint strings, then its certificate objects' thumbprints (the same).
        else [entry for trust in host.federation_trusts(shared=True) for entry in (_roles(trust), _roles(trust))],
        "transport_service": {
            "internal_transport_certificate_thumbprint": transport.get("internal_transport_certificate_thumbprint"),
            "send_protocol_log_path": transport.get("send_protocol_log_path"),
            "receive_protocol_log_path": transport.get("receive_protocol_log_path"),
            # The Front End Transport service does not exist on Edge Transport.
            "frontend_send_protocol_log_path": None if edge else transport.get("frontend_send_protocol_log_path"),
            "frontend_receive_protocol_log_path": None if edge else transport.get("frontend_receive_protocol_log_path"),
        },
    }


# What a default Windows Server 2019 with Windows PowerShell 5.1 and .NET 4.8 reports; host.json may override.
HOST_FACT_DEFAULTS: dict[str, Any] = {
    "os_build": 17763,
    "powershell_version": "5.1.17763.1",
    "dotnet_release": 528049,
    "fips_policy": False,
    "winrm": {"max_memory_per_shell_mb": 1024, "max_envelope_size_kb": 500},
}


def host_facts(host: HostState) -> dict[str, Any]:
    """The read's host facts beyond the name: OS build, PowerShell, .NET, FIPS policy, the logon, WinRM quotas."""
    facts = {name: host.info.get(name, default) for name, default in HOST_FACT_DEFAULTS.items()}
    user = str((host.info.get("auth") or {}).get("user", ""))
    facts["logon"] = {
        "user": user,
        "user_sid": folders.AGENT_ACCOUNT_SID,
        "authentication_type": "NTLM",
        "impersonation_level": "Impersonation",
    }
    return facts


def op_read(host: HostState, options: dict[str, Any], hooks: StepHooks) -> dict[str, Any]:
    load = hooks.load_exchange(host, options)
    now = _now()
    result = {
        "host": {
            "computer_name": host.computer_name,
            "fqdn": host.info.get("fqdn"),
            "time_utc": _iso(now),
            "os": host.info.get("os", "Windows Server 2019"),
            **host_facts(host),
            "folders": folders.server_folders(host),
        },
        "stores": {store: [_cert_entry(c) for c in host.certificates(store)] for store in STORES},
        "exchange": _exchange(host, now, load),
        "exchange_load": load.record(),
        "iis_bindings": host.iis_bindings(),
        "http_sys_bindings": host.http_sys_bindings(),
        "backup_folder": folders.folder_facts(host, options["backup_directory"])
        if options.get("backup_directory")
        else None,
    }
    log_outbound_sessions(host)
    return result


class StepHooks:
    """What the serving side hooks into one agent invocation.

    Where fault injection may interrupt an apply (1-based step numbers), whether the
    read after an apply's steps fails (``fail_read_after``), and what happens when
    the agent loads the Exchange cmdlets: once per invocation, as the
    agent's ``Import-Exchange`` returns at once when the cmdlets are already there,
    and only on a host where they load.
    """

    def __init__(
        self,
        drop_before_step: int | None = None,
        drop_after_step: int | None = None,
        on_exchange_load: Callable[[ExchangeLoad], None] | None = None,
        logon_can_delegate: bool = False,
        fail_read_after: bool = False,
    ) -> None:
        self.fail_read_after = fail_read_after
        self.drop_before_step = drop_before_step
        self.drop_after_step = drop_after_step
        self.on_exchange_load = on_exchange_load
        # Whether the WinRM logon can reach Active Directory from the server (tests/lab/exchange_shell.py);
        # the endpoint sets it from the logon's authentication.
        self.logon_can_delegate = logon_can_delegate
        self.exchange: ExchangeLoad | None = None

    def load_exchange(self, host: HostState, options: dict[str, Any]) -> ExchangeLoad:
        """Load Exchange once per invocation, as the agent does; a failed load of an installed one names its cause."""
        if self.exchange is None:
            self.exchange = load_exchange(host.info, options.get("exchange_credential"), self.logon_can_delegate)
            if self.exchange.installed and self.on_exchange_load is not None:
                self.on_exchange_load(self.exchange)
        load = self.exchange
        if load.installed and not load.ok:
            raise RequestError(
                "exchange_unavailable",
                f"Exchange is installed on {host.computer_name} but its cmdlets could not be loaded "
                f"({load.cause}): {load.message}",
            )
        return load


EXCHANGE_ACTIONS = frozenset({"enable_services", "set_connector", "set_hybrid", "set_protocol_logging"})


def op_apply(host: HostState, options: dict[str, Any], hooks: StepHooks) -> dict[str, Any]:
    steps = options.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise RequestError("bad_request", "options.steps must be a list of objects.")
    for index, step in enumerate(steps, start=1):
        if step.get("action") not in ACTIONS:
            raise RequestError("bad_request", f"step {index} has unknown action {step.get('action')!r}.")
    # As the agent does: Exchange is checked before any step runs, so nothing half-runs.
    if not host.has_exchange and any(step["action"] in EXCHANGE_ACTIONS for step in steps):
        raise RequestError("exchange_unavailable", "The Exchange management tools are not installed.")
    if any(step["action"] in EXCHANGE_ACTIONS for step in steps):
        hooks.load_exchange(host, options)
    results: list[dict[str, Any]] = []
    failed = False
    completed = 0
    listeners.before_change(host.dir)
    observe(host, 0, None)
    for number, step in enumerate(steps, start=1):
        base = {"id": step.get("id"), "action": step["action"], "message": None, "data": None}
        if failed:
            results.append({**base, "status": "not_run"})
            continue
        if hooks.drop_before_step == number:
            raise DropConnection
        try:
            status, data = ACTIONS[step["action"]](host, step)
            results.append({**base, "status": status, "data": data})
            completed += 1
        except StepFailed as exc:
            failed = True
            results.append({**base, "status": "failed", "message": str(exc)})
        observe(host, number, results[-1])
        if hooks.drop_after_step == number:
            raise DropConnection
    outcome: dict[str, Any] = {"results": results, "completed": completed, "failed": failed}
    if options.get("read_after") is not True:
        log_outbound_sessions(host)
        return outcome
    # As the agent does: a fresh read in the same invocation (its SMTP session is the one this call
    # logs); a failure of the read keeps the steps' results.
    try:
        if hooks.fail_read_after:
            raise RequestError("access_denied", "Access is denied.")
        return {**outcome, "after": op_read(host, options, hooks), "after_error": None}
    except RequestError as exc:
        return {**outcome, "after": None, "after_error": {"category": exc.category, "message": exc.message}}
    except Exception as exc:  # the agent's catch-all, as in run_request
        return {
            **outcome,
            "after": None,
            "after_error": {"category": "internal", "message": f"{type(exc).__name__}: {exc}"},
        }


def _parse_since(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise RequestError("bad_request", f"options.since {value!r} is not an ISO 8601 time.") from None


def op_read_logs(host: HostState, options: dict[str, Any], hooks: StepHooks) -> dict[str, Any]:
    paths = options.get("paths")
    if paths is None:
        if not host.has_exchange:
            raise RequestError("exchange_unavailable", "The Exchange management tools are not installed.")
        hooks.load_exchange(host, options)
        transport = host.transport()
        keys = ("send_protocol_log_path", "receive_protocol_log_path")
        if hooks.exchange is not None and hooks.exchange.role != "Edge":
            keys += ("frontend_send_protocol_log_path", "frontend_receive_protocol_log_path")
        paths = [transport[key] for key in keys if transport.get(key)]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise RequestError("bad_request", "options.paths must be a list of strings or null.")
    since = _parse_since(options.get("since"))
    before = _parse_since(options.get("before"))
    max_bytes = int(options.get("max_bytes") or 50_000_000)
    found = []
    missing: list[str] = []
    for windows_dir in paths:
        try:
            folder = host.local_path(windows_dir)
        except BadWindowsPath as exc:
            raise RequestError("bad_request", str(exc)) from None
        if not folder.is_dir():
            missing.append(windows_dir)
            continue
        for file in folder.glob("*.log"):
            modified = dt.datetime.fromtimestamp(file.stat().st_mtime, UTC)
            if (since is None or modified >= since) and (before is None or modified < before):
                found.append((modified, windows_dir.rstrip("\\") + "\\" + file.name, file))
    found.sort(key=lambda item: (item[0], item[1]))
    budget = max_bytes
    files: list[dict[str, Any]] = []
    dropped = 0
    for modified, windows_path, file in reversed(found):  # newest first while spending the budget
        if budget <= 0:
            dropped += 1
            continue
        data = file.read_bytes()
        truncated = len(data) > budget
        if truncated:
            data = data[len(data) - budget :]
        budget -= len(data)
        files.append(
            {
                "path": windows_path,
                "name": file.name,
                "size": file.stat().st_size,
                "modified_utc": _iso(modified),
                "content_b64": base64.b64encode(data).decode("ascii"),
                "truncated": truncated,
            }
        )
    files.reverse()
    return {"files": files, "dropped_files": dropped, "missing_paths": missing}


OPERATIONS: dict[str, Callable[[HostState, dict[str, Any], StepHooks], dict[str, Any]]] = {
    "read": op_read,
    "apply": op_apply,
    "read_logs": op_read_logs,
}


def peek_operation(request_text: str) -> str:
    """The request's operation name for logging, or ``unknown``."""
    try:
        value = json.loads(request_text)
    except ValueError:
        return "unknown"
    operation = value.get("operation") if isinstance(value, dict) else None
    return operation if operation in OPERATIONS else "unknown"


def run_request(host: HostState, agent_version: str, request_text: str, hooks: StepHooks) -> dict[str, Any]:
    """The response document for one request (raises DropConnection when a fault says so)."""
    operation: Any = None
    try:
        try:
            request = json.loads(request_text)
        except ValueError as exc:
            raise RequestError("bad_request", f"The request is not valid JSON: {exc}") from None
        if not isinstance(request, dict):
            raise RequestError("bad_request", "The request must be a JSON object.")
        operation = request.get("operation")
        if request.get("agent_version") != agent_version:
            raise RequestError(
                "version_mismatch",
                f"The agent is version {agent_version}, the request wants {request.get('agent_version')!r}.",
            )
        handler = OPERATIONS.get(str(operation))
        if handler is None:
            raise RequestError("bad_request", f"Unknown operation {operation!r}.")
        options = request.get("options") or {}
        if not isinstance(options, dict):
            raise RequestError("bad_request", "options must be a JSON object.")
        result = handler(host, options, hooks)
    except RequestError as exc:
        return _failure(agent_version, operation, exc.category, exc.message)
    except (DropConnection, KeyboardInterrupt):
        raise
    except Exception as exc:  # the agent's catch-all: a broken host folder is an 'internal' error, not a crash
        return _failure(agent_version, operation, "internal", f"{type(exc).__name__}: {exc}")
    return {"agent_version": agent_version, "operation": operation, "ok": True, "error": None, "result": result}


def _failure(agent_version: str, operation: Any, category: str, message: str) -> dict[str, Any]:
    return {
        "agent_version": agent_version,
        "operation": operation,
        "ok": False,
        "error": {"category": category, "message": message},
        "result": {},
    }


def render_output(response: dict[str, Any]) -> str:
    """Standard output exactly as the PowerShell agent writes it."""
    return f"{BEGIN}\n{json.dumps(response)}\n{END}\n"
