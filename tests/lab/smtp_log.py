"""Simulated SMTP Send protocol logging (Exchange's older one-fact-per-line format).

Rule (documented in docs/lab.md): on every ``read`` and every ``apply`` (after
its steps), for each send connector that is enabled, whose
SourceTransportServers include this server and whose ProtocolLoggingLevel is
Verbose, exactly one outbound session is appended to this server's
``SEND<yyyymmdd>-1.log``. The certificate shown is the one Exchange would
present then, so a fix is visible in the very next session.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from pathlib import Path
from typing import Any

from tests.lab.exchange_oracle import outbound_candidates
from tests.lab.state import HostState
from tests.lab.winnames import sans

UTC = dt.UTC
FIELDS = "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context"
_SESSION_COUNTER = itertools.count(0x08DE000000000001)


def _header(now: dt.datetime) -> str:
    return (
        "#Software: Microsoft Exchange Server\r\n"
        "#Version: 15.0.0.0\r\n"
        "#Log-type: SMTP Send Protocol Log\r\n"
        f"#Date: {now.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z\r\n"
        f"#Fields: {FIELDS}\r\n"
    )


def _session_lines(host: HostState, connector: dict[str, Any], now: dt.datetime) -> list[tuple[str, str, str]]:
    """(event, data, context) triples for one outbound session."""
    smart_host = (connector.get("smart_hosts") or ["contoso-com.mail.protection.outlook.com"])[0]
    fqdn = connector.get("fqdn") or host.info.get("fqdn", "")
    lines = [
        ("+", "", ""),
        (
            "<",
            f"220 {smart_host} Microsoft ESMTP MAIL Service ready at {now.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
            "",
        ),
        (">", f"EHLO {fqdn}", ""),
        ("<", f"250-{smart_host} Hello [203.0.113.10]", ""),
        ("<", "250 STARTTLS", ""),
        (">", "STARTTLS", ""),
        ("<", "220 2.0.0 SMTP server ready", ""),
    ]
    tls_name = connector.get("tls_certificate_name")
    candidates = outbound_candidates(host, tls_name) if tls_name else []
    if tls_name and not candidates:
        lines.append(
            (
                "*",
                "",
                "454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found.",
            )
        )
        lines.append(("-", "", "Local"))
        return lines
    if candidates:
        chosen = candidates[0]
        services = host.exchange_certificates().get(chosen.thumbprint, {}).get("services", [])
        lines += [
            ("*", "", "Sending certificate"),
            ("*", chosen.subject_dn, "Certificate subject"),
            ("*", chosen.issuer_dn, "Certificate issuer name"),
            ("*", format(chosen.cert.serial_number, "X"), "Certificate serial number"),
            ("*", chosen.thumbprint, "Certificate thumbprint"),
            ("*", ";".join(sans(chosen.cert)), "Certificate alternate names"),
        ]
        if not chosen.has_private_key:
            lines += [("*", "", "TLS negotiation failed with error NoCredentials"), ("-", "", "Local")]
            return lines
        if "SMTP" not in services:
            lines += [("*", "", "TLS negotiation failed with error UnknownCredentials"), ("-", "", "Local")]
            return lines
    lines += [
        ("*", "", "Received certificate"),
        (">", f"EHLO {fqdn}", ""),
        ("<", f"250-{smart_host} Hello [203.0.113.10]", ""),
        (">", "QUIT", ""),
        ("<", "221 2.0.0 Service closing transmission channel", ""),
        ("-", "", "Local"),
    ]
    return lines


def log_outbound_sessions(host: HostState, now: dt.datetime | None = None) -> int:
    """Append one session per qualifying send connector; returns how many were written."""
    if not host.has_exchange:
        return 0
    transport = host.transport()
    log_path = transport.get("send_protocol_log_path")
    if not log_path:
        return 0
    now = now or dt.datetime.now(UTC)
    written = 0
    for connector in host.send_connectors(shared=True):
        if connector.get("protocol_logging_level") != "Verbose" or connector.get("enabled") is False:
            continue
        if host.computer_name.lower() not in [s.lower() for s in connector.get("source_transport_servers", [])]:
            continue
        _append(host.local_path(log_path), host, connector, now)
        written += 1
    return written


def _append(folder: Path, host: HostState, connector: dict[str, Any], now: dt.datetime) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"SEND{now.strftime('%Y%m%d')}-1.log"
    session = f"{next(_SESSION_COUNTER):016X}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for sequence, (event, data, context) in enumerate(_session_lines(host, connector, now)):
        stamp = (now + dt.timedelta(milliseconds=sequence)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        local = "10.0.0.10:" + str(40000 + sequence) if event != "+" else ""
        writer.writerow(
            [stamp, connector.get("name", ""), session, sequence, local, "203.0.113.25:25", event, data, context]
        )
    with host.lock:
        new_file = not path.exists()
        with path.open("a", encoding="utf-8", newline="", errors="surrogateescape") as handle:
            if new_file:
                handle.write(_header(now))
            handle.write(out.getvalue())
