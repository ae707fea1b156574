"""A small pywinrm client for tests that talk to lab hosts directly (no ansible in between).

It crafts the bootstrap command and the agent stdin the way docs/agent-protocol.md
describes, independently of plugins/plugin_utils/_wire/transport.py, so the lab and
the transport are checked against the contract, not against each other.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import winrm

from tests.lab.agent import BEGIN, END
from tests.lab.control import LabHandle

STDIN_CHUNK = 200000
POWERSHELL_ARGS = ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Unrestricted", "-EncodedCommand"]
TEST_BOOTSTRAP = "\n".join(
    [
        "# certwarden-bootstrap 1",
        "$ErrorActionPreference = 'Stop'",
        "$in = [Console]::In.ReadToEnd() -split ([char]0 + [char]0 + [char]0 + [char]0), 2",
        "& ([ScriptBlock]::Create($in[0])) $in[1]",
    ]
)
TEST_AGENT = "# certwarden-agent 1\n# (the lab recognises the agent by this marker line)\nparam($Request)\n"


def encode_powershell(script: str) -> list[str]:
    return [*POWERSHELL_ARGS, base64.b64encode(script.encode("utf-16-le")).decode("ascii")]


def agent_stdin(request: dict[str, Any], agent_text: str = TEST_AGENT) -> bytes:
    return (agent_text + "\0\0\0\0" + json.dumps(request) + "\n").encode("utf-8")


@dataclass
class Output:
    stdout: bytes
    stderr: bytes
    rc: int

    def document(self) -> dict[str, Any]:
        """The JSON between the agent's markers (fails the test with the raw output otherwise)."""
        text = self.stdout.decode("utf-8")
        begin = text.index(BEGIN) + len(BEGIN)
        end = text.index(END, begin)
        return json.loads(text[begin:end])


class LabClient:
    """Opens one shell per call, as ansible does for each task."""

    def __init__(
        self,
        lab: LabHandle,
        host: str,
        *,
        password: str | None = None,
        operation_timeout_sec: int = 20,
        read_timeout_sec: int = 30,
        transport: str = "basic",
        username: str | None = None,
        **protocol_options: Any,
    ) -> None:
        info = lab.host_info(host)
        scheme = info["scheme"]
        # What the controller sends by default: the connection's own account loads Exchange (docs/windows.md).
        self.exchange_credential = {"user": info["auth"]["user"], "password": info["auth"]["password"]}
        self.protocol = winrm.Protocol(
            f"{scheme}://127.0.0.1:{info['port']}/wsman",
            transport=transport,  # type: ignore[arg-type]
            username=username or info["auth"]["user"],
            password=info["auth"]["password"] if password is None else password,
            server_cert_validation="validate",
            ca_trust_path=str(lab.dir / "ca.pem") if scheme == "https" else None,
            operation_timeout_sec=operation_timeout_sec,
            read_timeout_sec=read_timeout_sec,
            **protocol_options,
        )

    def run(self, command: str, arguments: list[str] | tuple[str, ...] = (), stdin: bytes | None = None) -> Output:
        shell = self.protocol.open_shell(codepage=65001)
        try:
            command_id = self.protocol.run_command(shell, command, arguments, console_mode_stdin=stdin is None)
            try:
                if stdin is not None:
                    chunks = [stdin[i : i + STDIN_CHUNK] for i in range(0, len(stdin), STDIN_CHUNK)] or [b""]
                    for index, chunk in enumerate(chunks):
                        self.protocol.send_command_input(shell, command_id, chunk, end=index == len(chunks) - 1)
                stdout, stderr, rc = self.protocol.get_command_output(shell, command_id)
            finally:
                self.protocol.cleanup_command(shell, command_id)
        finally:
            self.protocol.close_shell(shell)
        return Output(stdout, stderr, rc)

    def powershell(self, script: str, stdin: bytes | None = None) -> Output:
        return self.run("PowerShell", encode_powershell(script), stdin)

    def agent(
        self, operation: str, options: dict[str, Any] | None = None, *, version: str = "1", agent_text: str = TEST_AGENT
    ) -> Output:
        sent = dict(options or {})
        sent.setdefault("exchange_credential", self.exchange_credential)
        request = {"agent_version": version, "operation": operation, "options": sent}
        return self.powershell(TEST_BOOTSTRAP, agent_stdin(request, agent_text))

    def call(self, operation: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """The response document of a successful agent call."""
        output = self.agent(operation, options)
        assert output.rc == 0, output
        return output.document()
