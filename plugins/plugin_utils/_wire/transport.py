"""Run the certwarden agent on a Windows host through the task's own connection.

The contract is docs/agent-protocol.md. The command line carries only a fixed
bootstrap (:data:`BOOTSTRAP`); the agent script and the request travel on
standard input, so nothing secret (PFX bytes, passwords) ever reaches a
command line, a process list or ansible's own ``EXEC`` logging.

Why ``connection.exec_command`` and not ``ActionBase._low_level_execute_command``:

* the latter decodes stdout to text and splits it into ``stdout_lines``: a
  second full copy of a response that can be tens of MB (``read_logs``);
* it would apply ``become`` to the raw command, but Windows ``runas`` only works
  through ansible's module exec wrapper, not for a raw command, so it would
  silently not apply; we pass ``sudoable=False`` and say nothing we cannot do;
* it may wrap the command in ``executable`` for POSIX shells, which is wrong here.

``exec_command`` of ``ansible.builtin.winrm`` encodes our plain-text bootstrap
with ``_encode_script(strict_mode=False, preserve_rc=False)`` (every line
stripped, blank lines dropped) and streams ``in_data`` as stdin, which
``powershell.exe`` hands the script as ``$input``: one string per line.
``ansible.builtin.psrp`` runs the same text as a script in its runspace (in a
local scope) and passes ``in_data`` as pipeline input: ``bytes`` objects, which
arrive as ``byte[]`` (ansible-core 2.19 splits ``in_data`` into lines first;
pypsrp would send an unsplit ``bytes`` as one ``byte[]``). The bootstrap joins
whatever ``$input`` yields back into one text and splits it at the separator,
so both plugins and both shapes work.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.utils.display import Display

from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.clixml import decode_clixml_errors, is_clixml
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.exchange_credential import credential_for

try:  # pywinrm brings both; errors it does not wrap surface as theirs
    from requests.exceptions import ConnectionError as _RequestsConnectionError
    from urllib3.exceptions import HTTPError as _Urllib3HTTPError

    _DROPPED: tuple[type[BaseException], ...] = (
        AnsibleConnectionFailure,
        ConnectionError,
        _RequestsConnectionError,
        _Urllib3HTTPError,
    )
except ImportError:  # pragma: no cover
    _DROPPED = (AnsibleConnectionFailure, ConnectionError)

AGENT_VERSION = "1"
AGENT_MARKER = f"# certwarden-agent {AGENT_VERSION}"
BEGIN_MARKER = b"<<<CERTWARDEN-BEGIN>>>"
END_MARKER = b"<<<CERTWARDEN-END>>>"
REQUEST_SEPARATOR = "\0\0\0\0"
OPERATIONS = frozenset({"read", "apply", "read_logs"})
# Reading twice is harmless; applying twice after a dropped connection is not
# (the first run may have completed), so apply is never retried.
_RETRIED_OPERATIONS = frozenset({"read", "read_logs"})
_STDERR_LINES = 6

# The fixed command. Every line must survive ansible's strip-and-drop-blank-lines
# encoding, so: no here-strings, no line continuations, no meaning in indentation.
# `$input` items are strings (winrm: stdin lines) or byte[] (psrp: one per line,
# or the whole stdin); each ends a line. IndexOf is ordinal: .NET Framework's
# culture-aware comparison ignores NUL characters.
BOOTSTRAP = "\n".join(
    [
        "# certwarden-bootstrap 1",
        "$ErrorActionPreference = 'Stop'",
        "$ProgressPreference = 'SilentlyContinue'",
        "try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }",
        "$stdin = New-Object System.Text.StringBuilder",
        "foreach ($item in $input) {",
        "if ($item -is [byte]) { $null = $stdin.Append([char]$item) }",
        'elseif ($item -is [byte[]]) { $null = $stdin.Append([Text.Encoding]::ASCII.GetString($item)).Append("`n") }',
        'else { $null = $stdin.Append([string]$item).Append("`n") }',
        "}",
        "$text = $stdin.ToString()",
        '$at = $text.IndexOf("`0`0`0`0", [StringComparison]::Ordinal)',
        "if ($at -lt 0) { throw 'certwarden: no agent request separator on standard input' }",
        "& ([ScriptBlock]::Create($text.Substring(0, $at))) $text.Substring($at + 4)",
    ]
)


class AgentError(AnsibleError):
    """A failure to run the agent, or a failure it reported; the message names host and operation.

    ``category`` is one of the agent's error categories (``version_mismatch``,
    ``bad_request``, ``exchange_unavailable``, ``access_denied``, ``internal``)
    or a transport condition (``exit``, ``truncated``, ``malformed``,
    ``no_response``, ``connection``).
    """

    def __init__(self, message: str, *, host: str, operation: str, category: str) -> None:
        super().__init__(message)
        self.host = host
        self.operation = operation
        self.category = category


@cache
def load_agent_script() -> str:
    """The text of agent.ps1, which lives next to this file."""
    text = (Path(__file__).with_name("agent.ps1")).read_text(encoding="utf-8")
    if not text.startswith(AGENT_MARKER):
        raise AnsibleError(f"certwarden agent.ps1 does not start with '{AGENT_MARKER}': the collection is damaged")
    return text


def build_request(operation: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"agent_version": AGENT_VERSION, "operation": operation, "options": options}


def build_stdin(request: dict[str, Any]) -> bytes:
    """Agent text, a NUL NUL NUL NUL line, the request JSON: all ASCII.

    ``ensure_ascii`` keeps the bytes independent of the console input code page
    PowerShell decodes stdin with (UTF-8 is not the default on Windows).
    """
    agent = load_agent_script()
    if not agent.endswith("\n"):
        agent += "\n"
    payload = json.dumps(request, ensure_ascii=True, separators=(",", ":"))
    return f"{agent}{REQUEST_SEPARATOR}{payload}\n".encode("ascii")


def _prefix(host: str, operation: str) -> str:
    return f"certwarden agent {operation} on {host}"


def _first_lines(text: str, count: int = _STDERR_LINES) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    shown = "; ".join(lines[:count])
    if len(lines) > count:
        shown += f" (and {len(lines) - count} more lines)"
    return shown


def describe_stderr(stderr: bytes) -> str:
    """Readable text from stderr, CLIXML error records decoded."""
    text = stderr.decode("utf-8", errors="replace")
    if is_clixml(text):
        text = decode_clixml_errors(text)
    return _first_lines(text)


def parse_agent_output(rc: int, stdout: bytes, stderr: bytes, *, host: str, operation: str) -> dict[str, Any]:
    """The agent's whole response document from one run's exit code and streams; AgentError otherwise."""
    prefix = _prefix(host, operation)

    def fail(message: str, category: str) -> AgentError:
        return AgentError(f"{prefix} {message}", host=host, operation=operation, category=category)

    if rc != 0:
        detail = describe_stderr(stderr) or "no error output"
        raise fail(f"failed (exit {rc}): {detail}", "exit")

    begin = stdout.find(BEGIN_MARKER)
    if begin < 0:
        seen = stdout[:300].decode("utf-8", errors="replace").strip()
        hint = f"; output began: {seen!r}" if seen else ""
        errors = describe_stderr(stderr)
        hint += f"; stderr: {errors}" if errors else ""
        marker = BEGIN_MARKER.decode()
        raise fail(f"returned no response (no {marker} marker in {len(stdout)} bytes){hint}", "no_response")
    end = stdout.rfind(END_MARKER)
    if end < begin:
        raise fail(
            f"returned truncated output ({len(stdout) - begin} bytes after the begin marker, no end marker)",
            "truncated",
        )

    body = stdout[begin + len(BEGIN_MARKER) : end]
    try:
        response = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"returned malformed output: {exc}", "malformed") from None
    if not isinstance(response, dict) or not isinstance(response.get("ok"), bool):
        raise fail("returned malformed output: the response is not an object with a boolean 'ok'", "malformed")
    if response.get("operation") not in (operation, None):
        raise fail(f"returned malformed output: it answers operation {response.get('operation')!r}", "malformed")

    if not response["ok"]:
        error = response.get("error") if isinstance(response.get("error"), dict) else {}
        category = str(error.get("category") or "internal")
        message = str(error.get("message") or "no message")
        raise fail(f"failed: {category}: {message}", category)
    if not isinstance(response.get("result"), dict):
        raise fail("returned malformed output: 'result' is not an object", "malformed")
    return response


# Failures that arrive as connection errors but that a second try cannot
# mend: TLS verification and rejected credentials (ansible's winrm plugin
# wraps both in AnsibleConnectionFailure).
_PERMANENT_MARKERS = ("certificate verify failed", "certificate_verify_failed", "credentials were rejected")


def _is_connection_drop(exc: BaseException) -> bool:
    """A dropped or reset connection: ansible's own failure, or requests/urllib3 errors surfacing through pywinrm."""
    if not isinstance(exc, _DROPPED):
        return False
    text = f"{type(exc).__name__}: {exc}".casefold()
    return not any(marker in text for marker in _PERMANENT_MARKERS)


def _reset(connection: Any) -> None:
    """Drop the broken shell so the retry opens a fresh one; failing here is reported by the retry."""
    with contextlib.suppress(Exception):
        connection.reset()


# Operations whose answers can carry backup contents (a PFX with its key, the DER of a removed
# certificate): ansible's winrm plugin prints every command's stdout at -vvvvv unless the play
# context says no_log, so the call runs with no_log set.
_SECRET_ANSWERS = frozenset({"apply"})


@contextlib.contextmanager
def _answer_not_logged(connection: Any, operation: str) -> Iterator[None]:
    play_context = getattr(connection, "_play_context", None)
    if operation not in _SECRET_ANSWERS or play_context is None:
        yield
        return
    was = play_context.no_log
    play_context.no_log = True
    try:
        yield
    finally:
        play_context.no_log = was


def run_agent(
    connection: Any,
    host: str,
    operation: str,
    options: dict[str, Any],
    *,
    retry_reads: bool = True,
    display: Any = None,
) -> dict[str, Any]:
    """Run one agent operation on ``host`` and return the response's ``result``.

    Raises :class:`AgentError` for every failure. The request is never shown,
    logged or put in an error: it can hold PFX bytes and passwords.
    """
    if operation not in OPERATIONS:
        raise AgentError(
            f"certwarden agent operation {operation!r} on {host} is unknown (expected one of: "
            f"{', '.join(sorted(OPERATIONS))})",
            host=host,
            operation=operation,
            category="bad_request",
        )
    display = display or Display()
    # Every operation may need Exchange; the credential travels only on stdin, inside the request.
    options = {"exchange_credential": credential_for(connection), **options}
    stdin = build_stdin(build_request(operation, options))
    attempts = 2 if retry_reads and operation in _RETRIED_OPERATIONS else 1
    prefix = _prefix(host, operation)

    for attempt in range(1, attempts + 1):
        started = time.monotonic()
        display.vvv(f"{prefix}: sending {len(stdin)} bytes (attempt {attempt} of {attempts})", host=host)
        try:
            with _answer_not_logged(connection, operation):
                rc, stdout, stderr = connection.exec_command(BOOTSTRAP, in_data=stdin, sudoable=False)
        except Exception as exc:
            reason = _first_lines(str(exc), 3) or type(exc).__name__
            if not _is_connection_drop(exc):
                # Authentication, TLS or WinRM protocol failures: retrying cannot help.
                raise AgentError(
                    f"{prefix} failed to run: {reason}", host=host, operation=operation, category="connection"
                ) from None
            if attempt < attempts:
                display.vv(f"{prefix} lost the connection ({reason}); retrying once", host=host)
                _reset(connection)
                continue
            tried = " (tried twice)" if attempts > 1 else " (not retried: apply may have run)"
            raise AgentError(
                f"{prefix} lost the connection{tried}: {reason}", host=host, operation=operation, category="connection"
            ) from None
        elapsed = time.monotonic() - started
        display.vvv(
            f"{prefix}: exit {rc}, {len(stdout)} bytes stdout, {len(stderr)} bytes stderr in {elapsed:.2f}s", host=host
        )
        return parse_agent_output(rc, stdout, stderr, host=host, operation=operation)["result"]
    raise AssertionError("unreachable")  # pragma: no cover
