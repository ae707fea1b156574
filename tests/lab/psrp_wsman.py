"""The WS-Man actions of a PSRP shell ([MS-PSRP] 3.1.5.4 over [MS-WSMV]), mixed into the lab's handler.

wsman.py routes a Create on the PowerShell resource URI, and every later action
on a shell created that way, here; psrp_host.py keeps the runspace pool.
"""

from __future__ import annotations

import base64
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from tests.lab.powershell import Script, run_powershell
from tests.lab.psrp_host import POWERSHELL_RESOURCE, PipelineRun, PsrpShell, bootstrap_stdin
from tests.lab.wsman_soap import ACTION_PREFIXES, NS, envelope, fault, operation_timeout

PSRP_NS = "http://schemas.microsoft.com/powershell"
OPERATION_TIMEOUT_FAULT = 2150858793
NOT_FOUND_FAULT = 2150858843
RESOURCE_NOT_FOUND_FAULT = 2150858811
UNREACHABLE = "w:DestinationUnreachable"  # DSP0226: the fault for a resource URI the service does not serve


def endpoint_disabled(resource: str) -> str:
    return (
        "The WS-Management service cannot process the request. The resource URI "
        f"({resource}) was not found in the WS-Management catalog."
    )


class PsrpActions:
    """Create/Command/Send/Receive/Signal/Delete for PSRP shells; the handler provides the plumbing."""

    server: Any

    # provided by the handler
    def _reply(self, status: int, body: bytes, extra_headers: dict[str, str] | None = None) -> None: ...
    def _log_event(self, action: str, shell_id: str | None, command: Any, size: int, **extra: Any) -> None: ...
    def _drop(self) -> None: ...
    def _run_bootstrap(self, command: Any) -> None: ...
    def _logon_can_delegate(self) -> bool: ...

    def _route_psrp(
        self, action: str, root: ET.Element, message_id: str | None, shell_id: str | None, size: int
    ) -> bool:
        """Handle the request when it belongs to PowerShell remoting; False when it is a cmd shell's."""
        with self.server.lock:
            shell = self.server.psrp_shells.get((shell_id or "").upper())
        if shell is None:
            resource = root.find(".//w:ResourceURI", NS)
            wants_psrp = resource is not None and (resource.text or "").strip() == POWERSHELL_RESOURCE
            if action != "create" or not wants_psrp:
                return False
            if "powershell" not in self.server.endpoints:
                self._reply(
                    500,
                    fault(message_id, RESOURCE_NOT_FOUND_FAULT, endpoint_disabled(POWERSHELL_RESOURCE), UNREACHABLE),
                )
            else:
                self._psrp_create(root, message_id, size)
            return True
        actions = {"command": self._psrp_command, "send": self._psrp_send, "receive": self._psrp_receive}
        actions["signal"] = self._psrp_signal
        if action == "delete":
            self._psrp_delete(shell, message_id, size)
        elif action in actions:
            actions[action](shell, root, message_id, size)
        else:
            return False
        return True

    def _register_shell(self, shell_id: str) -> None:
        from tests.lab.wsman import Shell

        with self.server.lock:
            self.server.shells[shell_id] = Shell(shell_id, logon_can_delegate=self._logon_can_delegate())

    def _run_psrp_pipeline(self, shell_id: str, script_text: str, inputs: list[Any]) -> PipelineRun:
        """One pipeline in the already running runspace: no powershell.exe start, unlike a WinRS command."""
        from tests.lab.wsman import Command

        script = Script("powershell", script_text)
        command = Command(str(uuid.uuid4()).upper(), shell_id, script, command_time=time.time())
        try:
            if script.is_bootstrap:
                command.stdin = bytearray(bootstrap_stdin(script_text, inputs))
                self._run_bootstrap(command)
            else:
                command.kind = "raw"
                out, err, code = run_powershell(script_text, self.server.computer_name)
                command.stdout, command.stderr, command.exit_code = out.encode(), err.encode(), code
        finally:
            command.done.set()
            self._log_event("command", shell_id, command, len(command.stdin), exit_code=command.exit_code, psrp=True)
        errors = [line for line in command.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        output = command.stdout.decode("utf-8", "surrogateescape").splitlines()
        # a bootstrap failure is terminating ($ErrorActionPreference = 'Stop'); ansible's `exit $LASTEXITCODE` ends it
        exit_code = command.exit_code if script.is_bootstrap else 0
        return PipelineRun(output, errors, dropped=command.dropped, exit_code=exit_code)

    def _psrp_create(self, root: ET.Element, message_id: str | None, size: int) -> None:
        shell_node = root.find(".//rsp:Shell", NS)
        creation = root.find(f".//{{{PSRP_NS}}}creationXml")
        if shell_node is None or creation is None or not creation.text:
            self._reply(500, fault(message_id, 2150858770, "The PSRP shell has no creationXml.", "w:InvalidXml"))
            return
        shell_id = (shell_node.get("ShellId") or str(uuid.uuid4())).upper()
        shell = PsrpShell(shell_id)
        shell.open(creation.text)
        with self.server.lock:
            self.server.psrp_shells[shell_id] = shell
        self._register_shell(shell_id)
        self._log_event("create", shell_id, None, size, resource="powershell")
        port = self.server.server_address[1]
        body = (
            f"<x:ResourceCreated><a:Address>http://127.0.0.1:{port}/wsman</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{POWERSHELL_RESOURCE}</w:ResourceURI><w:SelectorSet>"
            f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            f"</x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId>"
            f"<rsp:ResourceUri>{POWERSHELL_RESOURCE}</rsp:ResourceUri>"
            "<rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams></rsp:Shell>"
        )
        self._reply(200, envelope(ACTION_PREFIXES[0] + "CreateResponse", message_id, body))

    def _psrp_command(self, shell: PsrpShell, root: ET.Element, message_id: str | None, size: int) -> None:
        line = root.find(".//rsp:CommandLine", NS)
        argument = root.find(".//rsp:CommandLine/rsp:Arguments", NS)
        command_id = (line.get("CommandId") if line is not None else None) or str(uuid.uuid4())
        fragment = base64.b64decode(argument.text or "") if argument is not None else b""
        runnable = shell.create_pipeline(command_id, fragment)
        self._log_event("command_create", shell.id, None, size, pipeline=command_id.upper())
        body = f"<rsp:CommandResponse><rsp:CommandId>{command_id.upper()}</rsp:CommandId></rsp:CommandResponse>"
        self._reply(200, envelope(ACTION_PREFIXES[1] + "CommandResponse", message_id, body, shell.id))
        if runnable:
            self._psrp_run(shell, runnable)

    def _psrp_send(self, shell: PsrpShell, root: ET.Element, message_id: str | None, size: int) -> None:
        runnable = None
        for stream in root.findall(".//rsp:Send/rsp:Stream", NS):
            runnable = shell.send(stream.get("CommandId"), base64.b64decode(stream.text or "")) or runnable
        self._log_event("send", shell.id, None, size)
        if runnable:
            self._psrp_run(shell, runnable)
        self._reply(200, envelope(ACTION_PREFIXES[1] + "SendResponse", message_id, "<rsp:SendResponse/>", shell.id))

    def _psrp_run(self, shell: PsrpShell, command_id: str) -> None:
        shell.run(command_id, lambda script, inputs: self._run_psrp_pipeline(shell.id, script, inputs))

    def _psrp_receive(self, shell: PsrpShell, root: ET.Element, message_id: str | None, size: int) -> None:
        desired = root.find(".//rsp:Receive/rsp:DesiredStream", NS)
        command_id = desired.get("CommandId") if desired is not None else None
        timeout = operation_timeout(root)
        state = ""
        if command_id:
            try:
                answer = shell.receive_pipeline(command_id, timeout)
            except KeyError:
                self._reply(500, fault(message_id, NOT_FOUND_FAULT, "The command was not found.", "w:InvalidSelectors"))
                return
            if answer is not None and shell.dropped(command_id):
                self._log_event("receive", shell.id, None, size, pipeline=command_id.upper(), dropped=True)
                self._drop()
                return
            data, finished = answer if answer is not None else (None, False)
            if finished:
                done = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
                state = f'<rsp:CommandState CommandId="{command_id.upper()}" State="{done}"/>'
        else:
            data = shell.receive_pool(timeout)
        if data is None:
            self._reply(
                500,
                fault(
                    message_id,
                    OPERATION_TIMEOUT_FAULT,
                    "The WS-Management service cannot complete the operation within the time specified in "
                    "OperationTimeout.",
                    "w:TimedOut",
                ),
            )
            return
        target = f' CommandId="{command_id.upper()}"' if command_id else ""
        stream = f'<rsp:Stream Name="stdout"{target}>{base64.b64encode(data).decode()}</rsp:Stream>' if data else ""
        self._log_event("receive", shell.id, None, size, data_bytes=len(data), done=bool(state))
        body = f'<rsp:ReceiveResponse SequenceID="0">{stream}{state}</rsp:ReceiveResponse>'
        self._reply(200, envelope(ACTION_PREFIXES[1] + "ReceiveResponse", message_id, body, shell.id))

    def _psrp_signal(self, shell: PsrpShell, root: ET.Element, message_id: str | None, size: int) -> None:
        signal = root.find(".//rsp:Signal", NS)
        if signal is not None and signal.get("CommandId"):
            shell.stop(signal.get("CommandId", ""))
        self._log_event("signal", shell.id, None, size)
        body = "<rsp:SignalResponse/>"
        self._reply(200, envelope(ACTION_PREFIXES[1] + "SignalResponse", message_id, body, shell.id))

    def _psrp_delete(self, shell: PsrpShell, message_id: str | None, size: int) -> None:
        with self.server.lock:
            self.server.psrp_shells.pop(shell.id, None)
            self.server.shells.pop(shell.id, None)
        self._log_event("delete", shell.id, None, size)
        self._reply(200, envelope(ACTION_PREFIXES[0] + "DeleteResponse", message_id, "", None))
