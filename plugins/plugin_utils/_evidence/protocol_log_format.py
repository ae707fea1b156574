"""Exchange SMTP protocol logs, line by line: header-driven CSV records.

A generator over lines, so memory stays flat however large the logs are. The
``#Fields:`` header decides the columns; quoted values may hold commas; a line
cut short (the last line of a log still being written) is counted and skipped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
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


def _split_one_quoted(line: str) -> list[str] | None:
    """The fields of a line with one quoted field that is a whole field (``a,"b, c",d``), without csv.

    That is how most quoted lines of Exchange's logs look (a reply or a name
    holding a comma), and the csv module costs a reader object per line.
    ``None`` for anything else (more quotes, a quote inside a field, text after
    the closing quote): the caller lets the csv module split those.
    """
    parts = line.split('"')
    if len(parts) != 3:
        return None
    before, inside, after = parts
    if (before and before[-1] != ",") or (after and after[0] != ","):
        return None
    fields = before[:-1].split(",") if before else []
    fields.append(inside)
    if after:
        fields += after[1:].split(",")
    return fields


def _split(line: str) -> list[str] | None:
    if '"' not in line:
        return line.split(",")
    if line.count('"') % 2:
        return None  # an open quote: the line was cut short
    # Past the field size limit the csv module raises, which names the problem better than a guess would.
    fields = _split_one_quoted(line) if len(line) <= csv.field_size_limit() else None
    return fields if fields is not None else next(csv.reader([line]))


# The columns a LogRecord takes, in its field order.
_RECORD_COLUMNS = (
    "date-time",
    "connector-id",
    "session-id",
    "local-endpoint",
    "remote-endpoint",
    "event",
    "data",
    "context",
)


def _record_picker(fields: tuple[str, ...]) -> Callable[[list[str]], tuple[str, ...]]:
    """The values of a LogRecord from a line's values, for the columns ``fields`` names (missing: ``""``).

    Decided once per ``#Fields:`` header rather than per line: with every column
    present (the usual case) one C ``itemgetter`` picks the eight values.
    """
    columns = {name: index for index, name in enumerate(fields)}
    indexes = [columns.get(name) for name in _RECORD_COLUMNS]
    present = [index for index in indexes if index is not None]
    if len(present) == len(indexes):
        return itemgetter(*present)
    return lambda values: tuple("" if index is None else values[index] for index in indexes)


def iter_records(lines: Iterable[str], stats: FileStats) -> Iterator[LogRecord]:
    """Records of one log file; header lines set the columns and the log type."""
    pick = _record_picker(stats.fields)
    make = LogRecord._make
    width = len(stats.fields)
    for raw in lines:
        line = raw.rstrip("\r\n").lstrip("\ufeff")
        if not line:
            continue
        if line[0] == "#":
            if line.startswith("#Fields:"):
                stats.fields = tuple(f.strip() for f in line[len("#Fields:") :].split(","))
                pick = _record_picker(stats.fields)
                width = len(stats.fields)
            else:
                match = _LOG_TYPE.match(line)
                if match:
                    stats.log_type = match.group(1).lower()
            continue
        values = _split(line)
        if values is None or len(values) < width:
            # Only the last line of a file being written lacks its newline: that one was cut short.
            if raw.endswith("\n"):
                stats.malformed_lines += 1
            else:
                stats.truncated_lines += 1
            continue
        stats.records += 1
        yield make(pick(values))
