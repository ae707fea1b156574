"""PowerShell Remoting (PSRP, [MS-PSRP]) over the lab's WS-Management endpoint, server side.

A PSRP client (pypsrp, behind ansible's ``psrp`` connection) opens a shell on
the resource URI ``http://schemas.microsoft.com/powershell/Microsoft.PowerShell``
whose ``creationXml`` carries the runspace pool's first PSRP fragments; it then
runs each script as a pipeline: a WS-Man Command (``CommandId`` = pipeline id)
whose argument is the CreatePipeline fragment, Sends with the input objects
and EndOfPipelineInput on ``stdin``, and Receives of ``stdout`` that return the
output objects, error records and the pipeline state. psrpcore's
``ServerRunspacePool`` / ``ServerPipeline`` do the PSRP side (fragments,
messages, state machine, CLIXML); this module maps them onto WS-Man and hands
each pipeline's script and input objects to the lab's PowerShell model.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psrpcore
from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    HostMethodIdentifier,
    NETException,
    PSInvocationState,
)

POWERSHELL_RESOURCE = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
FRAGMENT_SIZE = 32 * 1024
RECEIVE_BUDGET = 96 * 1024  # decoded bytes per Receive: base64 of it stays under pypsrp's 150 KiB envelope


@dataclass
class PipelineRun:
    """What the lab's PowerShell model returns for one pipeline."""

    output: list[str]
    errors: list[str] = field(default_factory=list)
    dropped: bool = False  # a fault cut the connection: the client gets no answer
    exit_code: int = 0  # non-zero: the script ended with `exit <code>` (the host's SetShouldExit)


# script text, input objects (deserialised: str, bytes, ...) -> the pipeline's output and error records
ScriptRunner = Callable[[str, list[Any]], PipelineRun]


@dataclass
class _Pipeline:
    server: psrpcore.ServerPipeline
    inputs: list[Any] = field(default_factory=list)
    outbox: list[bytes] = field(default_factory=list)  # whole PSRP fragments: a Receive never splits one
    done: threading.Event = field(default_factory=threading.Event)
    ready: bool = False
    dropped: bool = False


class PsrpShell:
    """One runspace pool (one WS-Man shell on the PowerShell resource URI)."""

    def __init__(self, shell_id: str) -> None:
        self.id = shell_id
        self.pool = psrpcore.ServerRunspacePool()
        self.lock = threading.Lock()
        self.has_data = threading.Condition(self.lock)
        self.outbox: list[bytes] = []  # runspace-pool-level fragments, for a Receive without CommandId
        self.pipelines: dict[str, _Pipeline] = {}

    def open(self, creation_xml: str) -> None:
        with self.lock:
            self._feed(base64.b64decode(creation_xml), None)

    def create_pipeline(self, command_id: str, first_fragment: bytes) -> str | None:
        """Register pipeline ``command_id``; returns its id when its script can run now (no input)."""
        with self.lock:
            pipeline = _Pipeline(psrpcore.ServerPipeline(self.pool, uuid.UUID(command_id)))
            self.pipelines[command_id.upper()] = pipeline
            return self._feed(first_fragment, command_id.upper())

    def send(self, command_id: str | None, data: bytes) -> str | None:
        """Feed a Send's ``stdin``/``pr`` bytes; returns a pipeline id whose input just ended."""
        with self.lock:
            return self._feed(data, command_id.upper() if command_id else None)

    def _feed(self, data: bytes, command_id: str | None) -> str | None:
        self.pool.receive_data(psrpcore.PSRPPayload(data, psrpcore.StreamType.default, None))
        runnable = None
        while (event := self.pool.next_event()) is not None:
            pipeline = self.pipelines.get(str(getattr(event, "pipeline_id", "") or "").upper())
            if isinstance(event, psrpcore.CreatePipelineEvent) and pipeline is not None:
                if getattr(event.pipeline, "no_input", True):
                    pipeline.ready, runnable = True, str(event.pipeline_id).upper()
            elif isinstance(event, psrpcore.PipelineInputEvent) and pipeline is not None:
                pipeline.inputs.append(event.data)
            elif isinstance(event, psrpcore.EndOfPipelineInputEvent) and pipeline is not None:
                pipeline.ready, runnable = True, str(event.pipeline_id).upper()
        self._drain()
        return runnable

    def _drain(self) -> None:
        while (payload := self.pool.data_to_send(FRAGMENT_SIZE)) is not None:
            target = self.pipelines.get(str(payload.pipeline_id).upper()) if payload.pipeline_id else None
            (target.outbox if target is not None else self.outbox).append(payload.data)
        self.has_data.notify_all()

    def run(self, command_id: str, runner: ScriptRunner) -> None:
        """Run a ready pipeline's script through ``runner`` and queue its output, errors and final state."""
        with self.lock:
            pipeline = self.pipelines[command_id]
            metadata = pipeline.server.metadata
            commands = list(getattr(metadata, "commands", []) or [])
            script = str(getattr(commands[0], "command_text", "")) if commands else ""
            inputs = list(pipeline.inputs)
        result = runner(script, inputs)
        with self.lock:
            pipeline.dropped = result.dropped
            server = pipeline.server
            server.start()
            for line in result.output:
                server.write_output(line)
            for message in result.errors:
                server.write_error(
                    NETException(message),
                    ErrorCategoryInfo(Category=ErrorCategory.NotSpecified, Reason="RuntimeException"),
                    fully_qualified_error_id="RuntimeException",
                )
            if result.exit_code:
                server.host_call(HostMethodIdentifier.SetShouldExit, [result.exit_code])
            server.complete()
            self._drain()
            pipeline.done.set()

    def receive_pool(self, timeout: float) -> bytes | None:
        """Pool-level messages, waiting up to ``timeout``; None when there were none (an OperationTimeout)."""
        with self.lock:
            if not self.outbox:
                self.has_data.wait(timeout)
            if not self.outbox:
                return None
            return _take(self.outbox)

    def receive_pipeline(self, command_id: str, timeout: float) -> tuple[bytes, bool] | None:
        """(output bytes, finished) of a pipeline; None when it produced nothing within ``timeout``."""
        pipeline = self.pipelines.get(command_id.upper())
        if pipeline is None:
            raise KeyError(command_id)
        if not pipeline.done.wait(timeout):
            return None
        with self.lock:
            return _take(pipeline.outbox), not pipeline.outbox

    def dropped(self, command_id: str) -> bool:
        pipeline = self.pipelines.get(command_id.upper())
        return bool(pipeline and pipeline.dropped)

    def stop(self, command_id: str) -> None:
        with self.lock:
            pipeline = self.pipelines.pop(command_id.upper(), None)
            if pipeline is not None and pipeline.server.state == PSInvocationState.Running:
                pipeline.server.stop()
                self._drain()


def _take(outbox: list[bytes]) -> bytes:
    """Whole fragments from the front of ``outbox``, up to the Receive budget (at least one)."""
    taken = bytearray()
    while outbox and (not taken or len(taken) + len(outbox[0]) <= RECEIVE_BUDGET):
        taken += outbox.pop(0)
    return bytes(taken)


def bootstrap_stdin(script: str, inputs: list[Any]) -> bytes:
    """The text the certwarden bootstrap rebuilds from its ``$input`` objects, as PowerShell would.

    A bootstrap that tests ``-is [byte[]]`` decodes byte[] input as ASCII text;
    one that only casts with ``[string]`` gets PowerShell's array-to-string
    conversion: the byte values as decimal numbers joined by spaces ($OFS), which
    is not the agent text. Strings are lines either way.
    """
    understands_bytes = "-is [byte[]]" in script
    parts = []
    for item in inputs:
        if isinstance(item, bytes | bytearray):
            text = bytes(item).decode("ascii", "replace") if understands_bytes else " ".join(str(b) for b in item)
        else:
            text = str(item)
        parts.append(text + "\n")
    return "".join(parts).encode("utf-8", "surrogateescape")
