"""A WS-Management (WinRM) endpoint for one simulated server.

It speaks what ansible-core's ``winrm`` connection plugin and pywinrm send:
Create (shell), Command, Send (stdin), Receive, Signal (terminate), Delete,
SOAP 1.2 over HTTP(S) with the authentication mechanisms the host's
listener enables (winrm_auth.py) and, over HTTP with NTLM, Kerberos or CredSSP,
WinRM message encryption (winrm_crypto.py). A command runs when its stdin
is complete (``End="true"``) or at once when it takes no stdin; Receive then
hands the output back in chunks.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.lab.agent import (
    BEGIN,
    DropConnection,
    StepHooks,
    agent_version_of,
    peek_operation,
    render_output,
    run_request,
)
from tests.lab.costs import ServerCosts
from tests.lab.exchange_shell import ExchangeLoad
from tests.lab.faults import Faults, bind_before_apply, folder_before_apply
from tests.lab.powershell import Script, parse_command, run_cmd, run_powershell
from tests.lab.psrp_host import PsrpShell
from tests.lab.psrp_wsman import RESOURCE_NOT_FOUND_FAULT, UNREACHABLE, PsrpActions, endpoint_disabled
from tests.lab.state import HostState, read_json
from tests.lab.winrm_auth import AuthSettings, ConnectionAuth, certificate_hash
from tests.lab.winrm_crypto import encrypt
from tests.lab.wsman_gate import AuthGate
from tests.lab.wsman_soap import ACTION_PREFIXES, NS, envelope, fault, operation_timeout

_DONE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
_RUNNING = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"
OPERATION_TIMEOUT_FAULT = 2150858793
SHELL_NOT_FOUND_FAULT = 2150858843
RECEIVE_CHUNK = 512 * 1024
AGENT_SEPARATOR = "\0\0\0\0"


CMD_RESOURCE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"


@dataclass
class Command:
    id: str
    shell_id: str
    script: Script
    stdin: bytearray = field(default_factory=bytearray)
    kind: str = "unknown"
    done: threading.Event = field(default_factory=threading.Event)
    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    sent_out: int = 0
    sent_err: int = 0
    dropped: bool = False
    stalled: bool = False
    command_time: float = 0.0


@dataclass
class Shell:
    id: str
    commands: dict[str, Command] = field(default_factory=dict)
    # Whether the logon behind this shell can authenticate onward from the server (the second hop):
    # Basic and CredSSP hold the password, Kerberos holds a forwarded TGT when delegated; NTLM and
    # Kerberos without delegation cannot (winrm_auth.py, docs/lab.md "The double hop").
    logon_can_delegate: bool = False


class HostEndpoint(ThreadingHTTPServer):
    """One port, one simulated server."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(
        self,
        host_dir: Path,
        ssl_context: ssl.SSLContext | None = None,
        port: int = 0,
        *,
        certificate_der: bytes | None = None,
        credssp_tls: Any = None,
    ) -> None:
        self.host_dir = host_dir
        self.ssl_context = ssl_context
        info = read_json(host_dir / "host.json")
        self.auth = info.get("auth", {})
        self.auth_settings = AuthSettings.from_host(self.auth, str(info.get("fqdn") or info["computer_name"]))
        self.certificate_der = certificate_der if ssl_context is not None else None
        self.credssp_tls = credssp_tls
        self.computer_name = str(info["computer_name"])
        self.costs = ServerCosts.from_host_info(info)
        self.shells: dict[str, Shell] = {}
        self.psrp_shells: dict[str, PsrpShell] = {}
        # Which WS-Man shells the listener serves: "cmd" (WinRS, the winrm connection) and "powershell" (PSRP).
        self.endpoints = tuple(info.get("endpoints") or ("cmd", "powershell"))
        self.lock = threading.Lock()
        self.log_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), WsmanHandler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def log_request_event(
        self, action: str, shell_id: str | None, command: Command | None, size: int, **extra: Any
    ) -> None:
        entry = {
            "time": time.time(),
            "action": action,
            "shell_id": shell_id,
            "command_id": command.id if command else None,
            "kind": command.kind if command else None,
            "bytes": size,
            **extra,
        }
        line = json.dumps(entry) + "\n"
        with self.log_lock, (self.host_dir / "requests.log").open("a", encoding="ascii") as handle:
            handle.write(line)


class WsmanHandler(AuthGate, PsrpActions, BaseHTTPRequestHandler):
    server: HostEndpoint
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # without it every round trip waits ~40 ms for delayed ACKs
    timeout = 120
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.gate = ConnectionAuth(
            self.server.auth_settings,
            certificate_hash(self.server.certificate_der) if self.server.certificate_der else None,
        )
        self.gate.credssp_tls = self.server.credssp_tls
        self.pending_headers: dict[str, str] = {}
        self.sealed = False
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError):
                self.close_connection = True
                self.rfile = self.wfile = _ClosedStream()  # type: ignore[assignment]

    def log_message(self, format: str, *args: Any) -> None:
        return  # the request log is the JSON file; stderr stays quiet

    # HTTP plumbing -----------------------------------------------------------
    def _reply(self, status: int, body: bytes, extra_headers: dict[str, str] | None = None) -> None:
        content_type = "application/soap+xml;charset=UTF-8"
        if body and self.sealed and self.gate.sealer is not None:
            body, content_type = encrypt(body, self.gate.sealer)
        headers = {**self.pending_headers, **(extra_headers or {})}
        self.pending_headers = {}
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        """Close the TCP connection without an answer, as a crashed or cut-off server would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        faults = Faults.load(self.server.host_dir)
        envelope = self._admit(body, faults)
        if envelope is None:
            return
        body = envelope
        try:
            root = ET.fromstring(body)  # noqa: S314 - loopback test server; the client is ours
        except ET.ParseError:
            self._reply(400, b"")
            return
        action_node = root.find(".//a:Action", NS)
        action = (action_node.text or "") if action_node is not None else ""
        for prefix in ACTION_PREFIXES:
            action = action.removeprefix(prefix)
        message_node = root.find(".//a:MessageID", NS)
        message_id = message_node.text if message_node is not None else None
        selector = root.find(".//w:Selector[@Name='ShellId']", NS)
        shell_id = selector.text if selector is not None else None
        try:
            if self._route_psrp(action.lower(), root, message_id, shell_id, len(body)):
                return
            handler = getattr(self, f"_on_{action.lower()}", None)
            if handler is None:
                self._reply(500, fault(message_id, 2150858771, f"The action {action} is not supported."))
                return
            handler(root, message_id, shell_id, faults, len(body))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as exc:  # keep the server alive; the client sees a WS-Man fault
            print(f"lab: {self.server.host_dir.name}: {action}: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._reply(500, fault(message_id, 2150858752, f"Internal lab error: {exc}"))

    # WS-Man actions ------------------------------------------------------------
    def _shell(self, shell_id: str | None, message_id: str | None) -> Shell | None:
        with self.server.lock:
            shell = self.server.shells.get(shell_id or "")
        if shell is None:
            self._reply(
                500,
                fault(
                    message_id,
                    SHELL_NOT_FOUND_FAULT,
                    "The request for the Windows Remote Shell "
                    "with ShellId " + str(shell_id) + " failed because the shell was not found on "
                    "the server.",
                    "w:InvalidSelectors",
                ),
            )
        return shell

    def _on_create(
        self, root: ET.Element, message_id: str | None, _shell_id: str | None, _f: Faults, size: int
    ) -> None:
        if "cmd" not in self.server.endpoints:
            self._reply(500, fault(message_id, RESOURCE_NOT_FOUND_FAULT, endpoint_disabled(CMD_RESOURCE), UNREACHABLE))
            return
        shell = Shell(str(uuid.uuid4()).upper(), logon_can_delegate=self._logon_can_delegate())
        with self.server.lock:
            self.server.shells[shell.id] = shell
        self._log_event("create", shell.id, None, size)
        body = (
            f"<x:ResourceCreated><a:Address>http://127.0.0.1:{self.server.server_address[1]}/wsman</a:Address>"
            "<a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
            f'</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">{shell.id}</w:Selector></w:SelectorSet>'
            f"</a:ReferenceParameters></x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell.id}</rsp:ShellId>"
            "<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
            "</rsp:Shell>"
        )
        self._reply(200, envelope(ACTION_PREFIXES[0] + "CreateResponse", message_id, body))

    def _on_command(
        self, root: ET.Element, message_id: str | None, shell_id: str | None, faults: Faults, size: int
    ) -> None:
        shell = self._shell(shell_id, message_id)
        if shell is None:
            return
        command_node = root.find(".//rsp:CommandLine/rsp:Command", NS)
        arguments = [a.text or "" for a in root.findall(".//rsp:CommandLine/rsp:Arguments", NS)]
        words = [w for a in arguments for w in a.split()]
        script = parse_command((command_node.text or "") if command_node is not None else "", words)
        command = Command(str(uuid.uuid4()).upper(), shell.id, script, command_time=time.time())
        with self.server.lock:
            shell.commands[command.id] = command
        console_stdin = root.find(".//w:Option[@Name='WINRS_CONSOLEMODE_STDIN']", NS)
        takes_stdin = (
            script.reads_stdin
            or script.is_bootstrap
            or (console_stdin is not None and (console_stdin.text or "").upper() == "FALSE")
        )
        if not takes_stdin:
            self._execute(command)
        body = f"<rsp:CommandResponse><rsp:CommandId>{command.id}</rsp:CommandId></rsp:CommandResponse>"
        self._reply(200, envelope(ACTION_PREFIXES[1] + "CommandResponse", message_id, body, shell.id))

    def _on_send(
        self, root: ET.Element, message_id: str | None, shell_id: str | None, faults: Faults, size: int
    ) -> None:
        shell = self._shell(shell_id, message_id)
        if shell is None:
            return
        stream = root.find(".//rsp:Send/rsp:Stream", NS)
        command = shell.commands.get(stream.get("CommandId", "") if stream is not None else "")
        if stream is None or command is None:
            self._reply(500, fault(message_id, 2150858843, "The command was not found.", "w:InvalidSelectors"))
            return
        data = base64.b64decode(stream.text or "")
        command.stdin += data
        end = (stream.get("End") or "").lower() == "true"
        self._log_event("send", shell.id, command, size, data_bytes=len(data), end=end)
        if end and not command.done.is_set():
            self._execute(command)
        self._reply(200, envelope(ACTION_PREFIXES[1] + "SendResponse", message_id, "<rsp:SendResponse/>", shell.id))

    def _on_receive(
        self, root: ET.Element, message_id: str | None, shell_id: str | None, faults: Faults, size: int
    ) -> None:
        shell = self._shell(shell_id, message_id)
        if shell is None:
            return
        desired = root.find(".//rsp:Receive/rsp:DesiredStream", NS)
        command = shell.commands.get(desired.get("CommandId", "") if desired is not None else "")
        if command is None:
            self._reply(500, fault(message_id, 2150858843, "The command was not found.", "w:InvalidSelectors"))
            return
        if not command.done.wait(operation_timeout(root)):
            self._log_event("receive", shell.id, command, size, data_bytes=0, timeout=True)
            self._reply(
                500,
                fault(
                    message_id,
                    OPERATION_TIMEOUT_FAULT,
                    "The WS-Management service cannot "
                    "complete the operation within the time specified in OperationTimeout.",
                    "w:TimedOut",
                ),
            )
            return
        operation = command.kind if command.kind not in ("raw", "unknown") else None
        stall = faults.get("stall_seconds", operation)
        if stall and not command.stalled:
            command.stalled = True
            faults.fired()
            self._log_event("receive", shell.id, command, size, data_bytes=0, stalled=stall)
            time.sleep(float(stall))
        if command.dropped:
            self._log_event("receive", shell.id, command, size, data_bytes=0, dropped=True)
            self._drop()
            return
        out = command.stdout[command.sent_out : command.sent_out + RECEIVE_CHUNK]
        err = command.stderr[command.sent_err : command.sent_err + RECEIVE_CHUNK]
        command.sent_out += len(out)
        command.sent_err += len(err)
        finished = command.sent_out >= len(command.stdout) and command.sent_err >= len(command.stderr)
        streams = "".join(
            f'<rsp:Stream Name="{name}" CommandId="{command.id}">{base64.b64encode(chunk).decode()}</rsp:Stream>'
            for name, chunk in (("stdout", out), ("stderr", err))
            if chunk
        )
        if finished:
            streams += "".join(
                f'<rsp:Stream Name="{name}" CommandId="{command.id}" End="true"></rsp:Stream>'
                for name in ("stdout", "stderr")
            )
            state = (
                f'<rsp:CommandState CommandId="{command.id}" State="{_DONE}">'
                f"<rsp:ExitCode>{command.exit_code}</rsp:ExitCode></rsp:CommandState>"
            )
        else:
            state = f'<rsp:CommandState CommandId="{command.id}" State="{_RUNNING}"/>'
        self._log_event("receive", shell.id, command, size, data_bytes=len(out) + len(err), done=finished)
        body = f'<rsp:ReceiveResponse SequenceID="0">{streams}{state}</rsp:ReceiveResponse>'
        self._reply(200, envelope(ACTION_PREFIXES[1] + "ReceiveResponse", message_id, body, shell.id))

    def _on_signal(
        self, root: ET.Element, message_id: str | None, shell_id: str | None, faults: Faults, size: int
    ) -> None:
        shell = self._shell(shell_id, message_id)
        if shell is None:
            return
        signal = root.find(".//rsp:Signal", NS)
        command_id = signal.get("CommandId", "") if signal is not None else ""
        with self.server.lock:
            command = shell.commands.pop(command_id, None)
        if command is not None and not command.done.is_set():
            # Terminated before its stdin ended: it never ran.
            command.done.set()
            self._log_event("command", shell.id, command, len(command.stdin), ran=False)
        self._log_event("signal", shell.id, command, size)
        self._reply(200, envelope(ACTION_PREFIXES[1] + "SignalResponse", message_id, "<rsp:SignalResponse/>", shell.id))

    def _on_delete(
        self, root: ET.Element, message_id: str | None, shell_id: str | None, faults: Faults, size: int
    ) -> None:
        with self.server.lock:
            shell = self.server.shells.pop(shell_id or "", None)
        if shell is None:
            self._shell(shell_id, message_id)
            return
        self._log_event("delete", shell.id, None, size)
        self._reply(200, envelope(ACTION_PREFIXES[0] + "DeleteResponse", message_id, "", None))

    # running a command -----------------------------------------------------------
    def _execute(self, command: Command) -> None:
        try:
            self._run(command)
        finally:
            command.done.set()
            self._log_event(
                "command",
                command.shell_id,
                command,
                len(command.stdin),
                exit_code=command.exit_code,
                dropped=command.dropped,
            )

    def _run(self, command: Command) -> None:
        name = self.server.computer_name
        script = command.script
        if script.kind == "powershell" and self.server.costs.command_start_seconds:
            time.sleep(self.server.costs.command_start_seconds)  # powershell.exe starting
        if script.kind == "cmd":
            command.kind = "raw"
            out, err, code = run_cmd(script.text, name)
        elif script.is_bootstrap:
            self._run_bootstrap(command)
            return
        else:
            command.kind = "raw"
            text = command.stdin.decode("utf-8", "replace") if script.reads_stdin else script.text
            out, err, code = run_powershell(text, name)
        command.stdout, command.stderr, command.exit_code = out.encode(), err.encode(), code

    def _load_exchange(self, command: Command, load: ExchangeLoad) -> None:
        """The agent loads the Exchange cmdlets: logged (how, and whether it worked), and paid for when configured."""
        self.server.log_request_event(
            "exchange_load", command.shell_id, command, 0, method=load.method, ok=load.ok, cause=load.cause
        )
        if self.server.costs.exchange_load_seconds:
            time.sleep(self.server.costs.exchange_load_seconds)

    def _run_bootstrap(self, command: Command) -> None:
        text = command.stdin.decode("utf-8", "surrogateescape").lstrip("\ufeff")
        agent_text, _unused, request_text = text.partition(AGENT_SEPARATOR)
        version = agent_version_of(agent_text)
        if version is None:
            command.kind = "unknown"
            out, err, code = run_powershell(agent_text, self.server.computer_name)
            command.stdout, command.stderr, command.exit_code = out.encode(), err.encode(), code
            return
        operation = peek_operation(request_text)
        command.kind = operation
        faults = Faults.load(self.server.host_dir)
        drops = (None, None)
        if operation == "apply":
            drops = (faults.get("drop_before_step", operation), faults.get("drop_after_step", operation))
        fail_read_after = bool(operation == "apply" and faults.get("fail_read_after", operation))
        if fail_read_after:
            faults.fired()
        with self.server.lock:
            shell = self.server.shells.get(command.shell_id)
        hooks = StepHooks(
            *drops,
            on_exchange_load=lambda load: self._load_exchange(command, load),
            logon_can_delegate=bool(shell and shell.logon_can_delegate),
            fail_read_after=fail_read_after,
        )
        host = HostState(self.server.host_dir)
        if faults.get("bind_before_apply", operation) and operation == "apply":
            bind_before_apply(host, faults.get("bind_before_apply", operation))
            faults.fired()
        if faults.get("folder_before_apply", operation) and operation == "apply":
            folder_before_apply(host, faults.get("folder_before_apply", operation))
            faults.fired()
        try:
            response = run_request(host, version, request_text, hooks)
        except DropConnection:
            faults.fired()
            command.dropped = True
            return
        output = render_output(response)
        if faults.get("truncate_output", operation):
            faults.fired()
            body = output[len(BEGIN) + 1 :]
            output = BEGIN + "\n" + body[: max(1, len(body) // 2)]
        elif faults.get("malformed_output", operation):
            faults.fired()
            output = BEGIN + '\n{"agent_version": ' + json.dumps(version) + ', "ok": tru\n<<<CERTWARDEN-END>>>\n'
        command.stdout = output.encode("utf-8", "surrogateescape")
        command.exit_code = 0


class _ClosedStream:
    """Stands in for the socket files after a failed TLS handshake."""

    closed = True

    def readline(self, *_args: Any) -> bytes:
        return b""

    def read(self, *_args: Any) -> bytes:
        return b""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None
