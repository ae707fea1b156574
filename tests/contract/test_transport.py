"""The transport against a test double of ansible's Connection (an external interface).

The double answers ``exec_command`` with scripted outcomes built from the
contract examples, so every parse and failure path runs the real transport.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.shell.powershell import ShellModule

from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire import exchange_credential, transport
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.clixml import decode_clixml_errors
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import (
    BOOTSTRAP,
    AgentError,
    load_agent_script,
    run_agent,
)

EXAMPLES = sorted(Path(__file__).with_name("examples").glob("*.json"))
HOST = "ex01.contoso.com"
SECRET = "S3cret-Pässwörd"


def example(name: str) -> dict[str, Any]:
    return json.loads(Path(__file__).with_name("examples").joinpath(f"{name}.json").read_text())


def framed(response: dict[str, Any] | str, before: bytes = b"", after: bytes = b"") -> bytes:
    body = response if isinstance(response, str) else json.dumps(response, separators=(",", ":"))
    return before + b"<<<CERTWARDEN-BEGIN>>>\r\n" + body.encode() + b"\r\n<<<CERTWARDEN-END>>>\r\n" + after


class FakeConnection:
    """Stands in for ansible's winrm/psrp Connection: records calls, plays back outcomes."""

    def __init__(self, *outcomes: tuple[int, bytes, bytes] | BaseException) -> None:
        self._outcomes: Iterator[tuple[int, bytes, bytes] | BaseException] = iter(outcomes)
        self.calls: list[dict[str, Any]] = []
        self.resets = 0

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        self.calls.append({"cmd": cmd, "in_data": in_data, "sudoable": sudoable})
        outcome = next(self._outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def reset(self) -> None:
        self.resets += 1


class RecordingDisplay:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def _record(self, msg: str, host: str | None = None) -> None:
        self.messages.append(msg)

    vvv = vv = v = vvvv = warning = display = _record


def ok(result: dict[str, Any], operation: str = "read") -> tuple[int, bytes, bytes]:
    return 0, framed({"agent_version": "1", "operation": operation, "ok": True, "error": None, "result": result}), b""


def run(connection: FakeConnection, operation: str = "read", options: dict | None = None, **kwargs: Any) -> Any:
    kwargs.setdefault("display", RecordingDisplay())
    return run_agent(connection, HOST, operation, options or {}, **kwargs)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_response_parses_to_its_result_or_its_error(path: Path) -> None:
    case = json.loads(path.read_text())
    request, response = case["request"], case["response"]
    connection = FakeConnection((0, framed(response), b""))
    if request["operation"] not in transport.OPERATIONS:
        with pytest.raises(AgentError) as raised:
            run(connection, request["operation"], request["options"])
        assert raised.value.category == "bad_request"
        assert connection.calls == []
        return
    if response["ok"]:
        assert run(connection, request["operation"], request["options"]) == response["result"]
    else:
        with pytest.raises(AgentError) as raised:
            run(connection, request["operation"], request["options"])
        error = raised.value
        assert error.category == response["error"]["category"]
        assert str(error) == (
            f"certwarden agent {request['operation']} on {HOST} failed: "
            f"{response['error']['category']}: {response['error']['message']}"
        )
        assert (error.host, error.operation) == (HOST, request["operation"])


def test_the_command_is_the_bootstrap_and_the_agent_and_request_travel_on_stdin() -> None:
    options = {
        "steps": [{"id": "s1", "action": "import_pfx", "thumbprint": "A" * 40, "pfx_b64": "UEZY", "password": SECRET}]
    }
    connection = FakeConnection(ok({"results": [], "completed": 0, "failed": False}, "apply"))
    run(connection, "apply", options)

    (call,) = connection.calls
    assert call["cmd"] == BOOTSTRAP
    assert call["sudoable"] is False
    assert SECRET not in call["cmd"] and "UEZY" not in call["cmd"]
    stdin: bytes = call["in_data"]
    stdin.decode("ascii")  # ASCII only: independent of the console input code page
    agent, separator, request_json = stdin.decode("ascii").partition("\0\0\0\0")
    assert separator
    assert agent == load_agent_script()
    sent = {"exchange_credential": None, **options}  # the fake connection has no user or password
    assert json.loads(request_json) == {"agent_version": "1", "operation": "apply", "options": sent}


class ConnectionWithAccount(FakeConnection):
    """A winrm/psrp connection as the plugins name their account options."""

    def get_option(self, name: str) -> str:
        return {"remote_user": "CONTOSO\\svc-certwarden", "remote_password": SECRET}[name]


def test_the_connections_account_loads_exchange_and_travels_only_on_stdin() -> None:
    connection = ConnectionWithAccount(ok({}, "read"))
    run(connection, "read")
    (call,) = connection.calls
    assert SECRET not in call["cmd"]
    request = json.loads(call["in_data"].decode("ascii").partition("\0\0\0\0")[2])
    assert request["options"]["exchange_credential"] == {"user": "CONTOSO\\svc-certwarden", "password": SECRET}


def test_an_explicit_exchange_credential_wins_over_the_connections_account() -> None:
    connection = ConnectionWithAccount(ok({}, "read"))
    exchange_credential.remember(connection, exchange_credential.parse_variable({"user": "admin", "password": "pw"}))
    run(connection, "read")
    request = json.loads(connection.calls[0]["in_data"].decode("ascii").partition("\0\0\0\0")[2])
    assert request["options"]["exchange_credential"] == {"user": "admin", "password": "pw"}


@pytest.mark.parametrize("value", [{"user": "admin"}, "admin:pw", {"user": "", "password": "pw"}])
def test_a_malformed_exchange_credential_is_refused_naming_the_variable(value: object) -> None:
    with pytest.raises(AnsibleError, match="certwarden_exchange_credential"):
        exchange_credential.parse_variable(value)


def bootstrap_join(items: list[str | bytes]) -> str:
    """What BOOTSTRAP does with ``$input``: each item (a string, or a byte[] decoded as ASCII) ends a line."""
    return "".join((item.decode("ascii") if isinstance(item, bytes) else item) + "\n" for item in items)


def test_the_bootstrap_handles_each_input_item_type_it_is_modelled_on() -> None:
    """The model above is the bootstrap's text: strings and byte[] items, joined, split at an ordinal IndexOf."""
    assert "foreach ($item in $input) {" in BOOTSTRAP
    assert "elseif ($item -is [byte[]]) { $null = $stdin.Append([Text.Encoding]::ASCII.GetString($item))" in BOOTSTRAP
    assert '$at = $text.IndexOf("`0`0`0`0", [StringComparison]::Ordinal)' in BOOTSTRAP


@pytest.mark.parametrize(
    "shape",
    [
        "winrm: powershell.exe yields stdin as one string per line",
        "psrp (ansible-core 2.19): in_data.splitlines(), one byte[] per line",
        "pypsrp given the unsplit bytes: one byte[] holding all of stdin",
    ],
)
def test_stdin_splits_into_agent_and_request_for_every_input_shape(shape: str) -> None:
    connection = FakeConnection(ok({}, "read_logs"))
    run(connection, "read_logs", {"paths": ["C:\\Logs"], "since": None, "max_bytes": 10})
    stdin: bytes = connection.calls[0]["in_data"]
    items: list[str | bytes]
    if shape.startswith("winrm"):
        items = list(stdin.decode("ascii").splitlines())
    elif "splitlines" in shape:
        items = list(stdin.splitlines())
    else:
        items = [stdin]
    text = bootstrap_join(items)
    at = text.index("\0\0\0\0")
    assert text[:at].rstrip("\n") == load_agent_script().replace("\r\n", "\n").rstrip("\n")
    assert "\0" not in text[:at]
    assert json.loads(text[at + 4 :])["operation"] == "read_logs"


def test_the_bootstrap_survives_ansibles_line_stripping_and_fits_a_command_line() -> None:
    command = ShellModule()._encode_script(BOOTSTRAP, strict_mode=False, preserve_rc=False)
    encoded = command.rsplit(" ", maxsplit=1)[-1]
    decoded = base64.b64decode(encoded).decode("utf-16-le")
    assert decoded == BOOTSTRAP
    assert len(command) < 8191
    assert "-EncodedCommand" in command


def test_non_zero_exit_reports_the_first_lines_of_stderr() -> None:
    stderr = b"line one\r\nline two\r\n\r\n" + b"".join(b"more %d\r\n" % i for i in range(10))
    connection = FakeConnection((1, b"", stderr))
    with pytest.raises(AgentError) as raised:
        run(connection)
    message = str(raised.value)
    assert message.startswith(f"certwarden agent read on {HOST} failed (exit 1): line one; line two; more 0")
    assert "(and 6 more lines)" in message
    assert raised.value.category == "exit"


CLIXML_STDERR = (
    b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    b'<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN>'
    b'<MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj>'
    b'<S S="Error">Exception calling "Create" with "1" argument(s): "At line:3 char:5_x000D__x000A_</S>'
    b'<S S="Error">Missing closing &apos;}&apos; in statement block &lt;here&gt;."_x000D__x000A_</S>'
    b"</Objs>"
)


def test_clixml_stderr_is_decoded_into_plain_text() -> None:
    connection = FakeConnection((1, b"", CLIXML_STDERR))
    with pytest.raises(AgentError) as raised:
        run(connection)
    message = str(raised.value)
    assert "Missing closing '}' in statement block <here>." in message
    assert "_x000D_" not in message and "CLIXML" not in message and "Preparing modules" not in message


def test_clixml_decoding_recombines_surrogate_pairs_and_passes_plain_text_through() -> None:
    assert (
        decode_clixml_errors('#< CLIXML\n<Objs><S S="Error">bad _xD83D__xDD12_ key</S></Objs>') == "bad \U0001f512 key"
    )
    assert decode_clixml_errors("plain error") == "plain error"


def test_begin_without_end_is_truncated() -> None:
    connection = FakeConnection((0, b'<<<CERTWARDEN-BEGIN>>>\r\n{"agent_version": "1", "ok": tr', b""))
    with pytest.raises(AgentError) as raised:
        run(connection)
    assert str(raised.value).startswith(f"certwarden agent read on {HOST} returned truncated output")
    assert raised.value.category == "truncated"


def test_invalid_json_between_markers_is_malformed() -> None:
    connection = FakeConnection((0, framed('{"ok": true, "result": '), b""))
    with pytest.raises(AgentError) as raised:
        run(connection)
    assert str(raised.value).startswith(f"certwarden agent read on {HOST} returned malformed output")
    assert raised.value.category == "malformed"


@pytest.mark.parametrize(
    "body",
    [
        '["not", "an", "object"]',
        '{"ok": "yes", "result": {}}',
        '{"ok": true, "result": null}',
        '{"operation": "apply", "ok": true, "result": {}}',
    ],
)
def test_a_response_of_the_wrong_shape_is_malformed(body: str) -> None:
    with pytest.raises(AgentError) as raised:
        run(FakeConnection((0, framed(body), b"")))
    assert raised.value.category == "malformed"


def test_output_without_markers_says_so_and_shows_what_came_instead() -> None:
    connection = FakeConnection((0, b"Loading personal and system profiles took 1234ms.\r\n", b""))
    with pytest.raises(AgentError) as raised:
        run(connection)
    message = str(raised.value)
    assert message.startswith(f"certwarden agent read on {HOST} returned no response")
    assert "Loading personal" in message
    assert raised.value.category == "no_response"


def test_stray_output_around_the_markers_is_ignored() -> None:
    response = example("read_ok")["response"]
    stdout = framed(response, before=b"WARNING: profile says hello\r\n", after=b"trailing noise\r\n")
    connection = FakeConnection((0, stdout, b'#< CLIXML\r\n<Objs><Obj S="progress"/></Objs>'))
    assert run(connection) == response["result"]


def test_a_read_is_retried_once_after_a_dropped_connection() -> None:
    connection = FakeConnection(AnsibleConnectionFailure("winrm connection error: reset by peer"), ok({"n": 1}))
    display = RecordingDisplay()
    assert run(connection, display=display) == {"n": 1}
    assert len(connection.calls) == 2
    assert connection.resets == 1
    assert any("lost the connection" in m and "retrying once" in m for m in display.messages)


@pytest.mark.parametrize(
    "failure",
    [requests.exceptions.ConnectionError("Connection aborted."), ConnectionResetError(104, "Connection reset by peer")],
    ids=["requests", "builtin"],
)
def test_connection_errors_from_pywinrm_count_as_drops(failure: BaseException) -> None:
    connection = FakeConnection(failure, ok({}, "read_logs"))
    assert run(connection, "read_logs", {"paths": None, "since": None, "max_bytes": 1}) == {}
    assert len(connection.calls) == 2


def test_a_read_that_drops_twice_fails_clearly() -> None:
    connection = FakeConnection(AnsibleConnectionFailure("reset"), AnsibleConnectionFailure("reset again"))
    with pytest.raises(AgentError) as raised:
        run(connection)
    assert str(raised.value) == f"certwarden agent read on {HOST} lost the connection (tried twice): reset again"
    assert raised.value.category == "connection"
    assert len(connection.calls) == 2


def test_an_apply_is_never_retried() -> None:
    connection = FakeConnection(AnsibleConnectionFailure("reset"), ok({}, "apply"))
    with pytest.raises(AgentError) as raised:
        run(connection, "apply", {"steps": []})
    assert str(raised.value).startswith(f"certwarden agent apply on {HOST} lost the connection")
    assert len(connection.calls) == 1
    assert connection.resets == 0


def test_retry_reads_false_disables_the_retry() -> None:
    connection = FakeConnection(AnsibleConnectionFailure("reset"), ok({}))
    with pytest.raises(AgentError):
        run(connection, retry_reads=False)
    assert len(connection.calls) == 1


def test_other_connection_errors_are_reported_without_a_retry() -> None:
    connection = FakeConnection(AnsibleError("winrm: the specified credentials were rejected by the server"), ok({}))
    with pytest.raises(AgentError) as raised:
        run(connection)
    assert str(raised.value) == (
        f"certwarden agent read on {HOST} failed to run: winrm: the specified credentials were rejected by the server"
    )
    assert len(connection.calls) == 1


@pytest.mark.parametrize(
    "message",
    [
        "ssl: HTTPSConnectionPool(host='127.0.0.1', port=5986): Max retries exceeded (Caused by SSLError("
        "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has "
        "expired (_ssl.c:1006)')))",
        "basic: the specified credentials were rejected by the server",
    ],
)
def test_tls_verification_and_rejected_credentials_are_not_retried(message: str) -> None:
    """ansible's winrm plugin wraps these in AnsibleConnectionFailure, but a second try cannot mend them."""
    connection = FakeConnection(AnsibleConnectionFailure(message), ok({}))
    with pytest.raises(AgentError) as raised:
        run(connection)
    assert str(raised.value).startswith(f"certwarden agent read on {HOST} failed to run: ")
    assert raised.value.category == "connection"
    assert len(connection.calls) == 1


def test_an_unknown_operation_never_reaches_the_host() -> None:
    connection = FakeConnection()
    with pytest.raises(AgentError) as raised:
        run(connection, "reboot")
    assert "'reboot'" in str(raised.value) and HOST in str(raised.value)
    assert connection.calls == []


def test_agent_error_is_an_ansible_error() -> None:
    error = AgentError("message", host="h", operation="read", category="internal")
    assert isinstance(error, AnsibleError)
    assert (str(error), error.host, error.operation, error.category) == ("message", "h", "read", "internal")


def test_secrets_never_reach_display_output_or_errors() -> None:
    pfx_b64 = base64.b64encode(b"PFX-BYTES-" * 50).decode()
    options = {
        "steps": [{"id": "s1", "action": "import_pfx", "thumbprint": "A" * 40, "pfx_b64": pfx_b64, "password": SECRET}]
    }
    outcomes: list[tuple[int, bytes, bytes] | BaseException] = [
        (1, b"", CLIXML_STDERR),
        (0, b"<<<CERTWARDEN-BEGIN>>>{", b""),
        (0, framed("{bad json"), b""),
        (0, b"nothing", b""),
        AnsibleConnectionFailure("dropped"),
        ok({"results": [], "completed": 0, "failed": False}, "apply"),
    ]
    display = RecordingDisplay()
    for outcome in outcomes:
        try:
            run(FakeConnection(outcome), "apply", options, display=display)
        except AgentError as error:
            text = f"{error} {error.__cause__!r} {error.__context__ if not error.__suppress_context__ else ''}"
            assert SECRET not in text and pfx_b64 not in text and "PFX-BYTES" not in text
    assert display.messages
    joined = "\n".join(display.messages)
    assert SECRET not in joined and pfx_b64 not in joined
    assert any("sending" in m and "bytes" in m for m in display.messages)


def test_several_megabytes_of_output_parse_quickly() -> None:
    content = base64.b64encode(bytes(range(256)) * 16384).decode()  # 4 MiB of log bytes -> ~5.6 MB of base64
    result = {
        "files": [
            {
                "path": "C:\\L\\SEND1.log",
                "name": "SEND1.log",
                "size": 4194304,
                "modified_utc": "2026-11-28T07:00:00Z",
                "content_b64": content,
                "truncated": False,
            }
        ],
        "dropped_files": 0,
        "missing_paths": [],
    }
    connection = FakeConnection(ok(result, "read_logs"))
    started = time.monotonic()
    assert run(connection, "read_logs", {"paths": None, "since": None, "max_bytes": 50000000}) == result
    assert time.monotonic() - started < 5


def test_the_agent_script_is_loaded_once_and_starts_with_its_marker() -> None:
    assert load_agent_script() is load_agent_script()
    assert load_agent_script().splitlines()[0] == "# certwarden-agent 1"
