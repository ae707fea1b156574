"""Benchmark: the protocol log reader's speed and memory on a large log.

Per size, generates a folder holding a send log (two thirds of the size) and a
receive log (one third): sessions interleaved eight at a time as on a busy
server, full SMTP conversations (banner, EHLO, STARTTLS, messages, QUIT),
both certificate formats (one fact per line, and the newer single line),
every other session failing (NoCredentials and UntrustedRoot on send,
UnknownCredentials on receive), connector names that need quoting, and a
last line cut short. It reads the folder with the same code the module uses
for ``src`` and reports MB/s and peak memory. Memory must stay flat as the
size grows: the reader streams lines and holds only the sessions still open.

    python -m bench.bench_protocol_log                        # --size-mb 30 300 --repeat 3
    python -m bench.bench_protocol_log --size-mb 1 --no-json  # smoke run

Each size is read in a fresh interpreter (so its peak RSS is its own):
``--repeat`` timed reads (the median is reported, and the best), then one
under tracemalloc. Peak RSS comes from ``resource`` (the whole process,
including the interpreter; ``rss_before_mb`` is the process before reading);
tracemalloc's peak counts only Python allocations made while reading. The
logs are read back right after being written, so they come from the page
cache, not the disk. Results are printed as a table and written to
bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.protocol_log import (
    LogSummary,
    log_files,
    summarise_paths,
)

REPO = Path(__file__).resolve().parents[1]
FIELDS = "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context"
SUBJECT = "CN=mail.contoso.com, O=Contoso Ltd, L=Redmond, S=Washington, C=US"
ISSUER = "CN=Certwarden TLS Issuing CA 1, O=Certwarden Trust, S=Washington, C=US"
SANS = "mail.contoso.com;autodiscover.contoso.com"
NEW_CONTEXT = (
    "Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names"
)
TLS_OK = (
    "TLS protocol SP_PROT_TLS1_2_{side} negotiation succeeded using bulk encryption algorithm CALG_AES_256 with "
    "strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm "
    "CALG_ECDH_EPHEM with strength 384 bits"
)
# Send connectors (one name holds a comma, so it is quoted like Exchange does) and receive connectors.
SEND_CONNECTORS = ("Outbound to Office 365", "Outbound to Internet", "Partner, Fabrikam")
RECEIVE_CONNECTORS = ("EX01\\Default Frontend EX01", "EX01\\Client Frontend EX01")
EHLO_REPLY = ("SIZE 37748736", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "8BITMIME", "BINARYMIME")


def _banner_date(when: str) -> str:
    # Exchange's banner date holds commas ("Sat, 28 Nov 2026 ..."), so that line is quoted in the log.
    return dt.datetime.fromisoformat(when.replace("Z", "+00:00")).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _header(kind: str) -> str:
    return (
        f"#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP {kind} Protocol Log\r\n"
        f"#Date: 2026-11-28T00:00:00.000Z\r\n#Fields: {FIELDS}\r\n"
    )


def _certificate(index: int, one_line: bool) -> list[tuple[str, str, str]]:
    """The certificate a session sends, in the older (one fact per line) or the newer (one line) form."""
    thumb = f"{index % 3:040X}"  # a server presents a handful of certificates, not one per session
    if one_line:
        data = f"{SUBJECT} {ISSUER} 7B22CC33 {thumb} 2026-11-26T00:00:00.000Z 2027-12-26T00:00:00.000Z {SANS}"
        return [("*", data, NEW_CONTEXT)]
    return [
        ("*", "", "Sending certificate"),
        ("*", SUBJECT, "Certificate subject"),
        ("*", ISSUER, "Certificate issuer name"),
        ("*", "4F00AA11", "Certificate serial number"),
        ("*", thumb, "Certificate thumbprint"),
        ("*", SANS, "Certificate alternate names"),
    ]


def _send_session(index: int, when: str) -> list[tuple[str, str, str]]:
    """One outbound session: banner, EHLO, STARTTLS, the certificate, then a failure or 1-3 messages."""
    peer = "contoso-com.mail.protection.outlook.com"
    ehlo = [(">", "EHLO mail.contoso.com", ""), ("<", f"250-{peer} Hello [203.0.113.10]", "")]
    ehlo += [("<", f"250-{option}", "") for option in EHLO_REPLY] + [("<", "250 SMTPUTF8", "")]
    lines = [("+", "", ""), ("<", f"220 {peer} Microsoft ESMTP MAIL Service ready at {_banner_date(when)}", ""), *ehlo]
    lines += [(">", "STARTTLS", ""), ("<", "220 2.0.0 SMTP server ready", "")]
    lines += _certificate(index, one_line=index % 4 in (2, 3))
    if index % 2:  # every other session fails: mostly NoCredentials, some UntrustedRoot from the peer
        if index % 8 == 7:
            lines += [("*", "", TLS_OK.format(side="CLIENT")), ("*", "", "Received certificate"), *ehlo]
            lines.append(("<", "450 4.4.317 Cannot connect to remote server [Message=UntrustedRoot]", ""))
        else:
            lines.append(("*", "", "TLS negotiation failed with error NoCredentials"))
        return [*lines, ("-", "", "Local")]
    lines += [("*", "", TLS_OK.format(side="CLIENT")), ("*", "", "Received certificate"), *ehlo]
    for message in range(1 + index % 3):
        lines += [
            ("*", f"{index:08X};{when};{message}", "sending message"),
            (">", f"MAIL FROM:<user{index % 50}@contoso.com> SIZE={20000 + index % 9000}", ""),
            (">", f"RCPT TO:<rcpt{message}@fabrikam.com>", ""),
            ("<", "250 2.1.0 Sender OK", ""),
            ("<", "250 2.1.5 Recipient OK", ""),
            (">", f"BDAT {20000 + index % 9000} LAST", ""),
            (
                "<",
                f"250 2.6.0 <{index:x}.{message}@contoso.com> [InternalId={index * 7}, Hostname=AM0PR01MB0001] "
                f"{20000 + index % 9000} bytes in 0.120, 180.5 KB/sec Queued mail for delivery",
                "",
            ),
        ]
    return [*lines, (">", "QUIT", ""), ("<", "221 2.0.0 Service closing transmission channel", ""), ("-", "", "Local")]


def _receive_session(index: int, when: str) -> list[tuple[str, str, str]]:
    """One inbound session (here ``>`` is what the server sends): UnknownCredentials or a delivered message."""
    lines = [
        ("+", "", ""),
        ("*", "SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAnySender", "Set Session Permissions"),
        (">", f"220 EX01.contoso.com Microsoft ESMTP MAIL Service ready at {_banner_date(when)}", ""),
        ("<", "EHLO mail-am6eur05on2040.outbound.protection.outlook.com", ""),
        (">", "250-EX01.contoso.com Hello [40.107.22.40]", ""),
        *[(">", f"250-{option}", "") for option in EHLO_REPLY],
        (">", "250 SMTPUTF8", ""),
        ("<", "STARTTLS", ""),
        (">", "220 2.0.0 SMTP server ready", ""),
        *_certificate(index, one_line=index % 4 in (2, 3)),
    ]
    if index % 2:
        return [*lines, ("*", "", "TLS negotiation failed with error UnknownCredentials"), ("-", "", "Remote")]
    return [
        *lines,
        ("*", "", TLS_OK.format(side="SERVER")),
        ("<", "MAIL FROM:<sender@fabrikam.com> SIZE=31000", ""),
        ("*", f"{index:08X};{when};0", "receiving message"),
        (">", "250 2.1.0 Sender OK", ""),
        ("<", f"RCPT TO:<user{index % 50}@contoso.com>", ""),
        (">", "250 2.1.5 Recipient OK", ""),
        ("<", "BDAT 31000 LAST", ""),
        (">", f"250 2.6.0 <{index:x}@fabrikam.com> [InternalId={index * 7}, Hostname=EX01.contoso.com] Queued", ""),
        ("<", "QUIT", ""),
        (">", "221 2.0.0 Closing connection.", ""),
        ("-", "", "Remote"),
    ]


def _csv(value: str) -> str:
    # Exchange quotes a value only when it must (a comma or a quote in it), like csv.QUOTE_MINIMAL.
    return '"' + value.replace('"', '""') + '"' if "," in value or '"' in value else value


def generate(path: Path, size_mb: float, interleave: int = 8, kind: str = "Send") -> int:
    """Write about ``size_mb`` MB of a send or receive log; returns the number of sessions.

    ``interleave`` sessions run at once and their lines alternate, as on a busy
    server; every other session fails; the file ends with a line cut short, as
    a log still being written does.
    """
    target = int(size_mb * 1024 * 1024)
    start = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    connectors, make = (SEND_CONNECTORS, _send_session) if kind == "Send" else (RECEIVE_CONNECTORS, _receive_session)
    local, remote = ("10.0.0.5:{port}", "52.101.0.1:25") if kind == "Send" else ("10.0.0.5:25", "40.107.22.40:{port}")
    written = 0
    sessions = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(_header(kind))
        while written < target:
            group = []
            for index in range(sessions, sessions + interleave):
                when = (start + dt.timedelta(milliseconds=index * 250)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                prefix = f"{when},{_csv(connectors[index % len(connectors)])},08DC{index:012X},"
                ends = f"{local},{remote},".format(port=50000 + index % 10000)
                group.append(
                    [
                        f"{prefix}{seq},{ends}{event},{_csv(data)},{_csv(context)}\r\n"
                        for seq, (event, data, context) in enumerate(make(index, when))
                    ]
                )
            sessions += interleave
            longest = max(len(g) for g in group)
            chunk = "".join(g[i] for i in range(longest) for g in group if i < len(g))
            handle.write(chunk)
            written += len(chunk)
        handle.write(f"2026-11-28T23:59:59.999Z,{_csv(connectors[0])},08DCFFFFFFFFFFFF,0,10.0.0.5")
    return sessions


def _read(paths: list[Path]) -> LogSummary:
    # What the module does with ``src``: the defaults keep_sessions "tls" and max_sessions 200.
    return summarise_paths(paths, LogSummary("tls", 200))


def measure(path: Path, repeat: int = 1) -> dict[str, float]:
    """Read ``path`` (a log file, or a folder of them) ``repeat`` times, then once under tracemalloc."""
    paths = log_files(str(path))
    size = sum(p.stat().st_size for p in paths)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Speed without tracemalloc (it slows every allocation), then memory in a last pass.
    times = []
    for _unused in range(max(1, repeat)):
        began = time.perf_counter()
        summary = _read(paths)
        times.append(time.perf_counter() - began)
    tracemalloc.start()
    _read(paths)
    _unused, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = summary.result()
    median = statistics.median(times)
    return {
        "size_mb": round(size / 1e6, 1),
        "records": sum(f["records"] for f in result["files"]),
        "seconds": round(median, 2),
        "mb_per_s": round(size / 1e6 / median, 1),
        "best_mb_per_s": round(size / 1e6 / min(times), 1),
        "sessions": summary.sessions_total,
        "failures": sum(f["evidence"]["count"] for f in result["findings"]),
        "traced_peak_mb": round(traced_peak / 1e6, 2),
        "rss_before_mb": round(rss_before / 1024, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _measure_in_child(folder: Path, repeat: int) -> dict[str, float]:
    """``measure`` in a fresh interpreter, so each size's peak RSS is its own (ru_maxrss never goes down)."""
    command = [sys.executable, "-m", "bench.bench_protocol_log", "--measure", str(folder), "--repeat", str(repeat)]
    done = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, nargs="+", default=[30, 300])
    parser.add_argument("--repeat", type=int, default=3, help="timed reads per size (the median is reported)")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child of _measure_in_child
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return 0
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="certwarden-bench-") as directory:
        for size in args.size_mb:
            folder = Path(directory) / f"{size:g}MB"
            folder.mkdir()
            # Two thirds send log, one third receive log: both log types, read as a folder like ``src``.
            generate(folder / "SEND20261128-1.log", size * 2 / 3, kind="Send")
            generate(folder / "RECV20261128-1.log", size / 3, kind="Receive")
            rows.append(_measure_in_child(folder, args.repeat))
            shutil.rmtree(folder)
    columns = list(rows[0])
    print(" | ".join(f"{c:>14}" for c in columns))
    for row in rows:
        print(" | ".join(f"{row[c]:>14}" for c in columns))
    load = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]}
    print(f"load average (1, 5, 15 min) before {load['before']}, after {load['after']}; nproc {os.cpu_count()}")
    if not args.no_json:
        out = REPO / "bench" / "results" / "protocol_log.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "benchmark": "protocol_log",
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "nproc": os.cpu_count(),
            "load_average": load,
            "runs": rows,
        }
        out.write_text(json.dumps(record, indent=2) + "\n")
        print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
