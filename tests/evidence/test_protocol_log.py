"""The protocol log parser on logs written in Exchange's format by hand."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence import protocol_log
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.protocol_log import (
    LogSummary,
    log_files,
    summarise_paths,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.protocol_log_cert import (
    parse_single_line,
    parse_single_line_cached,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.protocol_log_format import (
    _split,
    _split_one_quoted,
)

HEADER = (
    "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP {kind} Protocol Log\r\n"
    "#Date: 2026-11-28T08:00:00.000Z\r\n"
    "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\r\n"
)
OLD_T = "1" * 20 + "A" * 20
NEW_T = "2" * 20 + "B" * 20
SUBJECT = "CN=mail.contoso.com, O=Contoso Ltd, L=Redmond, S=Washington, C=US"
ISSUER = "CN=Certwarden TLS Issuing CA 1, O=Certwarden Trust, S=Washington, C=US"
CONNECTOR = "Outbound to Office 365"


def _line(  # noqa: PLR0917 - one positional per log column reads like the log itself
    t: str, session: str, seq: int, event: str, data: str, context: str, connector: str = CONNECTOR
) -> str:
    def q(value: str) -> str:
        return f'"{value}"' if "," in value else value

    return (
        f"2026-11-28T08:{t}.000Z,{q(connector)},{session},{seq},10.0.0.5:51000,52.101.0.1:25,{event},"
        f"{q(data)},{q(context)}\r\n"
    )


def old_format_failure(session: str, minute: str) -> list[str]:
    return [
        _line(f"{minute}:00", session, 0, "+", "", ""),
        _line(f"{minute}:01", session, 1, "<", "220 mail.protection.outlook.com Microsoft ESMTP", ""),
        _line(f"{minute}:01", session, 2, ">", "EHLO mail.contoso.com", ""),
        _line(f"{minute}:02", session, 3, ">", "STARTTLS", ""),
        _line(f"{minute}:02", session, 4, "<", "220 2.0.0 SMTP server ready", ""),
        _line(f"{minute}:02", session, 5, "*", "", "Sending certificate"),
        _line(f"{minute}:02", session, 6, "*", SUBJECT, "Certificate subject"),
        _line(f"{minute}:02", session, 7, "*", ISSUER, "Certificate issuer name"),
        _line(f"{minute}:02", session, 8, "*", "4F00AA11", "Certificate serial number"),
        _line(f"{minute}:02", session, 9, "*", OLD_T, "Certificate thumbprint"),
        _line(
            f"{minute}:02", session, 10, "*", "mail.contoso.com;autodiscover.contoso.com", "Certificate alternate names"
        ),
        _line(f"{minute}:02", session, 11, "*", "", "TLS negotiation failed with error NoCredentials"),
        _line(f"{minute}:03", session, 12, "-", "", "Local"),
    ]


NEW_CONTEXT = (
    "Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names"
)


def new_format_success(session: str, minute: str) -> list[str]:
    data = (
        f"{SUBJECT} {ISSUER} 7B22CC33DD44 {NEW_T} 2026-11-26T00:00:00.000Z 2027-12-26T00:00:00.000Z "
        "mail.contoso.com;autodiscover.contoso.com;smtp.contoso.com"
    )
    return [
        _line(f"{minute}:00", session, 0, "+", "", ""),
        _line(f"{minute}:01", session, 1, ">", "STARTTLS", ""),
        _line(f"{minute}:01", session, 2, "*", data, NEW_CONTEXT),
        _line(f"{minute}:02", session, 3, "*", "", "TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded"),
        _line(f"{minute}:03", session, 4, "-", "", "Local"),
    ]


def interleave(*sessions: list[str]) -> list[str]:
    out: list[str] = []
    longest = max(len(s) for s in sessions)
    for index in range(longest):
        out.extend(s[index] for s in sessions if index < len(s))
    return out


@pytest.fixture
def send_log(tmp_path: Path) -> Path:
    path = tmp_path / "SmtpSend" / "SEND20261128-1.log"
    path.parent.mkdir()
    body = interleave(
        old_format_failure("08DEADBEEF000001", "10"),
        new_format_success("08DEADBEEF000002", "10"),
        old_format_failure("08DEADBEEF000003", "20"),
    )
    # A session still being written when the file was copied: its last line has no end.
    body += [_line("30:00", "08DEADBEEF000004", 0, "+", "", ""), '2026-11-28T08:30:01.000Z,"Outbound to Off']
    path.write_text(HEADER.format(kind="Send") + "".join(body), newline="")
    return path


def _summary(*paths: Path, **options: object) -> dict:
    return summarise_paths(paths, LogSummary(**options)).result()


def test_sessions_grouped_and_both_formats_parsed(send_log: Path) -> None:
    result = _summary(send_log)
    assert result["sessions_total"] == 4
    by_id = {s["session_id"]: s for s in result["sessions"]}
    failed = by_id["08DEADBEEF000001"]
    assert failed["connector"] == CONNECTOR
    assert failed["direction"] == "send"
    assert failed["remote_endpoint"] == "52.101.0.1:25"
    assert failed["time"] == "2026-11-28T08:10:00.000Z"
    assert failed["tls_result"] == "NoCredentials"
    assert failed["certificate"] == {
        "subject": SUBJECT,
        "issuer": ISSUER,
        "serial": "4F00AA11",
        "thumbprint": OLD_T,
        "sans": ["mail.contoso.com", "autodiscover.contoso.com"],
    }
    ok = by_id["08DEADBEEF000002"]
    assert ok["tls_result"] == "success"
    assert ok["certificate"]["thumbprint"] == NEW_T
    assert ok["certificate"]["subject"] == SUBJECT
    assert ok["certificate"]["issuer"] == ISSUER
    assert ok["certificate"]["serial"] == "7B22CC33DD44"
    assert ok["certificate"]["not_before"] == "2026-11-26T00:00:00.000Z"
    assert ok["certificate"]["not_after"] == "2027-12-26T00:00:00.000Z"
    assert ok["certificate"]["sans"] == ["mail.contoso.com", "autodiscover.contoso.com", "smtp.contoso.com"]
    assert "08DEADBEEF000004" not in by_id  # no certificate, no failure: not a TLS session
    assert result["files"][0]["truncated_lines"] == 1
    assert result["files"][0]["malformed_lines"] == 0


def test_failures_aggregate_per_connector_and_cause(send_log: Path) -> None:
    result = _summary(send_log)
    assert result["compliant"] is False
    [finding] = result["findings"]
    assert finding["code"] == "tls_failure_logged"
    assert finding["evidence"]["connector"] == CONNECTOR
    assert finding["evidence"]["cause"] == "NoCredentials"
    assert finding["evidence"]["count"] == 2
    assert finding["evidence"]["last_time"] == "2026-11-28T08:20:03.000Z"
    assert finding["evidence"]["thumbprints"] == [OLD_T]
    assert finding["fix"] == "remove"


def test_receive_log_keeps_server_qualified_connector(tmp_path: Path) -> None:
    path = tmp_path / "RECV20261128-1.log"
    connector = "EX01\\Default Frontend EX01"
    lines = [
        _line("00:00", "S1", 0, "+", "", "", connector),
        _line("00:01", "S1", 1, "*", "", "Sending certificate", connector),
        _line("00:01", "S1", 2, "*", OLD_T, "Certificate thumbprint", connector),
        _line("00:02", "S1", 3, "*", "", "TLS negotiation failed with error UnknownCredentials", connector),
        _line("00:03", "S1", 4, "-", "", "Remote", connector),
    ]
    path.write_text(HEADER.format(kind="Receive") + "".join(lines))
    result = _summary(path)
    [session] = result["sessions"]
    assert session["direction"] == "receive"
    assert session["connector"] == connector
    assert result["findings"][0]["evidence"]["cause"] == "UnknownCredentials"
    assert result["findings"][0]["fix"] == "enable_services"


def test_untrusted_root_from_the_remote_reply(tmp_path: Path) -> None:
    path = tmp_path / "SEND.log"
    lines = [
        _line("00:00", "S1", 0, "+", "", ""),
        _line("00:01", "S1", 1, "<", "450 4.4.317 Cannot connect to remote server [Message=UntrustedRoot]", ""),
        _line("00:02", "S1", 2, "-", "", "Local"),
    ]
    path.write_text(HEADER.format(kind="Send") + "".join(lines))
    result = _summary(path, keep="failed")
    assert [s["tls_result"] for s in result["sessions"]] == ["UntrustedRoot"]


def test_fields_header_drives_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "SEND.log"
    path.write_text(
        "#Log-type: SMTP Send Protocol Log\n#Fields: session-id,event,context,data,connector-id,date-time\n"
        f"S9,+,,,X,2026-01-01T00:00:00Z\nS9,*,Certificate thumbprint,{NEW_T},X,2026-01-01T00:00:01Z\n"
    )
    # The thumbprint line comes without "Sending certificate": not collected, and that is fine.
    result = _summary(path, keep="all")
    assert result["sessions"][0]["connector"] == "X"
    assert result["sessions"][0]["time"] == "2026-01-01T00:00:00Z"


def test_folder_source_and_errors(tmp_path: Path, send_log: Path) -> None:
    assert log_files(str(send_log.parent.parent)) == [send_log]
    with pytest.raises(InputError, match="option src"):
        log_files(str(tmp_path / "nothing-here"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no \*\.log files"):
        log_files(str(tmp_path / "empty"))


@pytest.mark.parametrize(
    ("data", "context"),
    [
        # The documented order.
        (
            f"{SUBJECT} {ISSUER} 0A1B2C3D4E5F {NEW_T} 11/26/2026 12:00:00 AM 12/26/2027 12:00:00 AM mail.contoso.com",
            NEW_CONTEXT,
        ),
        # Another order, with semicolons between the values.
        (
            f"{NEW_T}; 0A1B2C3D4E5F; {SUBJECT}; {ISSUER}; 2026-11-26 00:00:00; 2027-12-26 00:00:00; mail.contoso.com",
            "Sending certificate Thumbprint Serial number Subject Issuer name Not before Not after "
            "Subject alternate names",
        ),
    ],
)
def test_single_line_form_is_parsed_defensively(data: str, context: str) -> None:
    parsed = parse_single_line(data, context)
    assert parsed["thumbprint"] == NEW_T
    assert parsed["serial"] == "0A1B2C3D4E5F"
    assert parsed["subject"] == SUBJECT
    assert parsed["issuer"] == ISSUER
    assert parsed["sans"] == ["mail.contoso.com"]
    assert parsed["not_before"].startswith(("11/26/2026", "2026-11-26"))
    assert parsed["not_after"].startswith(("12/26/2027", "2027-12-26"))


# The fast paths of the reader must agree with the slow ones they stand in for.


def test_quoted_line_fast_split_agrees_with_csv() -> None:
    # Every line of up to seven characters from these five, with an even number of quotes
    # (an odd number is a cut line, never split): the fast path or its csv fallback, vs csv.
    for length in range(1, 8):
        for chars in itertools.product('a," b', repeat=length):
            line = "".join(chars)
            if '"' not in line or line.count('"') % 2:
                continue
            assert _split(line) == next(csv.reader([line])), line
    assert _split_one_quoted('x,"a, b",y') == ["x", "a, b", "y"]
    assert _split_one_quoted('x,"a""b",y') is None  # a doubled quote: csv's job


@pytest.mark.parametrize(
    "text",
    [
        "TLS negotiation failed with error NoCredentials",
        "tls NEGOTIATION FAILED WITH ERROR UntrustedRoot",
        "TLS protocol SP_PROT_TLS1_2_CLIENT NeGoTiAtIoN succeeded",
        "TLS negot\u0130ation failed with error X",  # dotted capital I: matches "i" under IGNORECASE
        "TLS negot\u0131ation succeeded",  # dotless i: so does this
        "\ufb05 TLS Negotiation failed with error \u017fomething",  # long s, ligatures around it
    ],
)
def test_failure_prefilter_never_hides_a_match(text: str) -> None:
    # Session.feed runs the IGNORECASE regexes only when "NEGOT" is in the uppercased text.
    assert protocol_log._FAILED.search(text) or protocol_log._SUCCEEDED.search(text)
    assert "NEGOT" in text.upper()


def test_single_line_cache_returns_independent_equal_dicts() -> None:
    data = f"{SUBJECT} {ISSUER} 7B22CC33DD44 {NEW_T} 2026-11-26T00:00:00.000Z 2027-12-26T00:00:00.000Z a.b;c.d"
    first = parse_single_line_cached(data, NEW_CONTEXT)
    assert first == parse_single_line(data, NEW_CONTEXT)
    assert list(first) == list(parse_single_line(data, NEW_CONTEXT))  # same key order
    first["sans"].append("changed")
    first["thumbprint"] = "changed"
    assert parse_single_line_cached(data, NEW_CONTEXT) == parse_single_line(data, NEW_CONTEXT)


def test_fields_header_without_some_columns_reads_them_empty(tmp_path: Path) -> None:
    path = tmp_path / "SEND.log"
    path.write_text(
        "#Fields: session-id,event,data,context\n"
        "S1,+,,\nS1,*,,TLS negotiation failed with error NoCredentials\nS1,-,,Local\n"
    )
    [session] = _summary(path, keep="all")["sessions"]
    assert (session["time"], session["connector"], session["local_endpoint"]) == ("", "", "")
    assert session["tls_result"] == "NoCredentials"


def test_the_remote_certificate_after_received_certificate_is_not_taken_for_the_presented_one(
    tmp_path: Path,
) -> None:
    session = "08DEADBEEF000009"
    remote = "CN=mail.protection.outlook.com, O=Microsoft Corporation, L=Redmond, S=WA, C=US"
    lines = [
        *old_format_failure(session, "40")[:11],
        _line("40:02", session, 11, "*", "", "Received certificate"),
        _line("40:02", session, 12, "*", remote, "Certificate subject"),
        _line("40:02", session, 13, "*", "9" * 40, "Certificate thumbprint"),
        _line("40:02", session, 14, "*", "", "TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded"),
        _line("40:03", session, 15, "-", "", "Local"),
    ]
    path = tmp_path / "SEND20261128-1.log"
    path.write_text(HEADER.format(kind="Send") + "".join(lines), newline="")
    [found] = _summary(path)["sessions"]
    assert found["tls_result"] == "success"
    assert found["certificate"]["thumbprint"] == OLD_T
    assert found["certificate"]["subject"] == SUBJECT
