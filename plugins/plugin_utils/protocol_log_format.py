"""Exchange SMTP protocol logs, line by line: header-driven CSV records.

A generator over lines, so memory stays flat however large the logs are. The
``#Fields:`` header decides the columns; quoted values may hold commas; a line
cut short (the last line of a log still being written) is counted and skipped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

DEFAULT_FIELDS = (
    "date-time",
    "connector-id",
    "session-id",
    "sequence-number",
    "local-endpoint",
    "remote-endpoint",
    "event",
    "data",
    "context",
)


class LogRecord(NamedTuple):
    time: str
    connector: str
    session_id: str
    local_endpoint: str
    remote_endpoint: str
    event: str
    data: str
    context: str


@dataclass
class FileStats:
    """What one file held: its type (send / receive), counts, and lines skipped."""

    name: str
    log_type: str = "unknown"
    records: int = 0
    truncated_lines: int = 0
    malformed_lines: int = 0
    fields: tuple[str, ...] = field(default=DEFAULT_FIELDS)

    def to_dict(self) -> dict:
        return {
            "path": self.name,
            "log_type": self.log_type,
            "records": self.records,
            "truncated_lines": self.truncated_lines,
            "malformed_lines": self.malformed_lines,
        }


_LOG_TYPE = re.compile(r"#Log-type:\s*SMTP\s+(Send|Receive)", re.IGNORECASE)


def _split(line: str) -> list[str] | None:
    if '"' not in line:
        return line.split(",")
    if line.count('"') % 2:
        return None  # an open quote: the line was cut short
    return next(csv.reader([line]))


def iter_records(lines: Iterable[str], stats: FileStats) -> Iterator[LogRecord]:
    """Records of one log file; header lines set the columns and the log type."""
    columns = {name: index for index, name in enumerate(stats.fields)}
    for raw in lines:
        line = raw.rstrip("\r\n").lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                stats.fields = tuple(f.strip() for f in line[len("#Fields:") :].split(","))
                columns = {name: index for index, name in enumerate(stats.fields)}
            else:
                match = _LOG_TYPE.match(line)
                if match:
                    stats.log_type = match.group(1).lower()
            continue
        values = _split(line)
        if values is None or len(values) < len(stats.fields):
            # Only the last line of a file being written lacks its newline: that one was cut short.
            if raw.endswith("\n"):
                stats.malformed_lines += 1
            else:
                stats.truncated_lines += 1
            continue
        stats.records += 1
        yield LogRecord(
            values[columns["date-time"]] if "date-time" in columns else "",
            values[columns["connector-id"]] if "connector-id" in columns else "",
            values[columns["session-id"]] if "session-id" in columns else "",
            values[columns["local-endpoint"]] if "local-endpoint" in columns else "",
            values[columns["remote-endpoint"]] if "remote-endpoint" in columns else "",
            values[columns["event"]] if "event" in columns else "",
            values[columns["data"]] if "data" in columns else "",
            values[columns["context"]] if "context" in columns else "",
        )
