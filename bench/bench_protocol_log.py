"""Benchmark: the protocol log reader's speed and memory on a large log.

Generates a send log of ``--size-mb`` megabytes (interleaved sessions, both
certificate formats, failures), reads it with the same code the module uses,
and reports MB/s and peak memory. Memory must stay flat as the size grows: the
reader streams lines and holds only the sessions still open.

    python -m bench.bench_protocol_log --size-mb 300
    python -m bench.bench_protocol_log --size-mb 1 --no-json   # smoke run

Peak RSS comes from ``resource`` (the whole process, including the
interpreter); tracemalloc's peak counts only Python allocations made while
reading. Results are printed as a table and written to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for entry in (str(REPO), str(REPO / "collections")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from ansible_collections.certwarden.exchange.plugins.plugin_utils.protocol_log import (  # noqa: E402
    LogSummary,
    summarise_paths,
)

HEADER = (
    "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send Protocol Log\r\n"
    "#Date: 2026-11-28T00:00:00.000Z\r\n"
    "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\r\n"
)
SUBJECT = '"CN=mail.contoso.com, O=Contoso Ltd, L=Redmond, S=Washington, C=US"'
ISSUER = '"CN=Certwarden TLS Issuing CA 1, O=Certwarden Trust, S=Washington, C=US"'
NEW_CONTEXT = (
    "Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names"
)


def _session(index: int, when: str) -> list[str]:
    sid = f"08DC{index:012X}"
    thumb = f"{index % 3:040X}"  # a server presents a handful of certificates, not one per session
    head = f"{when},Outbound to Office 365,{sid}"
    lines = [f"{head},0,10.0.0.5:50000,52.101.0.1:25,+,,", f"{head},1,10.0.0.5:50000,52.101.0.1:25,>,STARTTLS,"]
    if index % 2:
        lines += [
            f"{head},2,10.0.0.5:50000,52.101.0.1:25,*,,Sending certificate",
            f"{head},3,10.0.0.5:50000,52.101.0.1:25,*,{SUBJECT},Certificate subject",
            f"{head},4,10.0.0.5:50000,52.101.0.1:25,*,{ISSUER},Certificate issuer name",
            f"{head},5,10.0.0.5:50000,52.101.0.1:25,*,4F00AA11,Certificate serial number",
            f"{head},6,10.0.0.5:50000,52.101.0.1:25,*,{thumb},Certificate thumbprint",
            f"{head},7,10.0.0.5:50000,52.101.0.1:25,*,mail.contoso.com;autodiscover.contoso.com,"
            "Certificate alternate names",
            f"{head},8,10.0.0.5:50000,52.101.0.1:25,*,,TLS negotiation failed with error NoCredentials",
        ]
    else:
        data = (
            f'"{SUBJECT[1:-1]} {ISSUER[1:-1]} 7B22CC33 {thumb} 2026-11-26T00:00:00.000Z '
            '2027-12-26T00:00:00.000Z mail.contoso.com;autodiscover.contoso.com"'
        )
        lines.append(f"{head},2,10.0.0.5:50000,52.101.0.1:25,*,{data},{NEW_CONTEXT}")
    lines.append(f"{head},9,10.0.0.5:50000,52.101.0.1:25,-,,Local")
    return lines


def generate(path: Path, size_mb: float, interleave: int = 8) -> int:
    """Write about ``size_mb`` MB of log; returns the number of sessions."""
    target = int(size_mb * 1024 * 1024)
    start = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    written = 0
    sessions = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        while written < target:
            when = (start + dt.timedelta(seconds=sessions)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            group = [_session(sessions + k, when) for k in range(interleave)]
            sessions += interleave
            longest = max(len(g) for g in group)
            chunk = "".join(g[i] + "\r\n" for i in range(longest) for g in group if i < len(g))
            handle.write(chunk)
            written += len(chunk)
    return sessions


def measure(path: Path) -> dict[str, float]:
    size = path.stat().st_size
    # Speed without tracemalloc (it slows every allocation), then memory in a second pass.
    began = time.perf_counter()
    summary = summarise_paths([path], LogSummary("tls", 200))
    elapsed = time.perf_counter() - began
    tracemalloc.start()
    summarise_paths([path], LogSummary("tls", 200))
    _unused, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = summary.result()
    return {
        "size_mb": round(size / 1e6, 1),
        "seconds": round(elapsed, 2),
        "mb_per_s": round(size / 1e6 / elapsed, 1),
        "sessions": summary.sessions_total,
        "failures": sum(f["evidence"]["count"] for f in result["findings"]),
        "traced_peak_mb": round(traced_peak / 1e6, 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, nargs="+", default=[50, 300])
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="certwarden-bench-") as directory:
        for size in args.size_mb:
            path = Path(directory) / f"SEND-{size:g}MB.log"
            generate(path, size)
            rows.append(measure(path))
            path.unlink()
    columns = list(rows[0])
    print(" | ".join(f"{c:>14}" for c in columns))
    for row in rows:
        print(" | ".join(f"{row[c]:>14}" for c in columns))
    if not args.no_json:
        out = REPO / "bench" / "results" / "protocol_log.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps({"benchmark": "protocol_log", "python": sys.version.split()[0], "runs": rows}, indent=2) + "\n"
        )
        print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
