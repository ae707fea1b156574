"""protocol_log: what Exchange's SMTP protocol logs say about TLS, per session.

Records stream in (:mod:`protocol_log_format`), are grouped by session id
(sessions of one connector interleave freely), and each session is closed on
its ``-`` disconnect record, so memory holds only the sessions still open.
Aggregated: ``tls_failure_logged`` per connector and cause, with a count and
the last time seen. When the host's ``read`` result is at hand, each presented
thumbprint is correlated with the certificate store (duplicate? private key?
services?).
"""

from __future__ import annotations

import base64
import io
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.findings import Finding, finding
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.protocol_log_cert import (
    ONE_FACT_FIELDS,
    parse_single_line_cached,
    split_sans,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.protocol_log_format import (
    FileStats,
    LogRecord,
    iter_records,
)

KNOWN_CAUSES = ("NoCredentials", "UnknownCredentials", "UntrustedRoot")
_FAILED = re.compile(r"TLS negotiation failed with error (\w+)", re.IGNORECASE)
_MESSAGE = re.compile(r"\[Message=(\w+)\]")
_SUCCEEDED = re.compile(r"negotiation succeeded", re.IGNORECASE)

# What fixes each cause (the engine's step actions) and what it usually means.
_CAUSES = {
    "NoCredentials": ("remove", "the certificate Exchange picked has no usable private key - often a duplicate copy"),
    "UnknownCredentials": ("enable_services", "the certificate Exchange picked is not enabled for SMTP"),
    "UntrustedRoot": ("install_intermediate", "the peer could not build a chain: an intermediate is missing"),
}


@dataclass
class Session:
    """One SMTP session as the log tells it."""

    file: str
    direction: str  # send | receive | unknown
    session_id: str
    connector: str
    time: str
    last_time: str = ""
    local_endpoint: str = ""
    remote_endpoint: str = ""
    certificate: dict[str, Any] | None = None
    tls_result: str | None = None  # success | NoCredentials | UnknownCredentials | UntrustedRoot | other
    tls_error: str | None = None
    _collecting: bool = field(default=False, repr=False)

    def feed(self, record: LogRecord) -> None:
        if record.time:
            self.last_time = record.time
        if not self.local_endpoint:
            self.local_endpoint = record.local_endpoint
        if not self.remote_endpoint:
            self.remote_endpoint = record.remote_endpoint
        context, data = record.context.strip(), record.data.strip()
        lowered = context.lower()
        if context:  # most records (the SMTP conversation) have no context: nothing of the certificate
            if lowered.startswith("sending certificate"):
                if len(lowered) > len("sending certificate") or data:
                    self.certificate = parse_single_line_cached(data, context)
                    self._collecting = False
                else:
                    self.certificate = {"sans": []}
                    self._collecting = True
                return
            if lowered.startswith("received certificate"):
                # The lines that follow (older format) describe the remote server's certificate:
                # they must not overwrite the one this server presented.
                self._collecting = False
                return
            key = ONE_FACT_FIELDS.get(lowered)
            if key and self._collecting and self.certificate is not None:
                if key == "sans":
                    self.certificate["sans"] = split_sans(data)
                elif key in ("thumbprint", "serial"):
                    self.certificate[key] = data.replace(" ", "").upper()
                else:
                    self.certificate[key] = data
                return
        upper = data.upper()
        # The regexes below run only on records that can match them: _FAILED and _SUCCEEDED both
        # need "negotiation" in any case, whose letters match only their ASCII forms under
        # IGNORECASE, so "NEGOT" is in the uppercased text whenever they match; _MESSAGE is
        # case-sensitive. The space that joins data and context is in neither needle.
        if "NEGOT" not in upper and "[Message=" not in data and "negot" not in lowered and "[Message=" not in context:
            return
        text = f"{data} {context}"
        failed = _FAILED.search(text) or _MESSAGE.search(text)
        if failed:
            cause = failed.group(1)
            self.tls_result = cause if cause in KNOWN_CAUSES else "other"
            self.tls_error = text.strip()
        elif _SUCCEEDED.search(text) and self.tls_result is None:
            self.tls_result = "success"

    def close(self) -> None:
        # A certificate sent with no failure logged before the disconnect: the handshake worked.
        if self.tls_result is None and self.certificate is not None:
            self.tls_result = "success"

    @property
    def thumbprint(self) -> str | None:
        value = (self.certificate or {}).get("thumbprint")
        return value if isinstance(value, str) and value else None

    def to_dict(self) -> dict[str, Any]:
        certificate = None
        if self.certificate is not None:
            certificate = {k: self.certificate.get(k) for k in ("subject", "issuer", "serial", "thumbprint")}
            certificate["sans"] = list(self.certificate.get("sans") or [])
            for extra in ("not_before", "not_after"):
                if extra in self.certificate:
                    certificate[extra] = self.certificate[extra]
        return {
            "time": self.time,
            "last_time": self.last_time,
            "direction": self.direction,
            "connector": self.connector,
            "session_id": self.session_id,
            "local_endpoint": self.local_endpoint,
            "remote_endpoint": self.remote_endpoint,
            "certificate": certificate,
            "tls_result": self.tls_result,
            "tls_error": self.tls_error,
            "file": self.file,
        }


def iter_sessions(lines: Iterable[str], stats: FileStats) -> Iterator[Session]:
    """Sessions of one file, each yielded when it closes (the rest at the end of the file)."""
    open_sessions: dict[str, Session] = {}
    for record in iter_records(lines, stats):
        session = open_sessions.get(record.session_id)
        if session is None:
            session = Session(stats.name, stats.log_type, record.session_id, record.connector, record.time)
            open_sessions[record.session_id] = session
        session.feed(record)
        if record.event == "-":
            del open_sessions[record.session_id]
            session.close()
            yield session
    for session in open_sessions.values():
        session.close()
        yield session


@dataclass
class _Failure:
    connector: str
    cause: str
    count: int = 0
    last_time: str = ""
    thumbprints: set[str] = field(default_factory=set)
    errors: set[str] = field(default_factory=set)


class LogSummary:
    """Everything the module returns, accumulated session by session."""

    def __init__(self, keep: str = "tls", max_sessions: int = 200, connectors: Iterable[str] = ()) -> None:
        self.keep = keep
        self.sessions: deque[Session] = deque(maxlen=max_sessions if max_sessions > 0 else None)
        self.sessions_total = 0
        self.files: list[FileStats] = []
        self.failures: dict[tuple[str, str], _Failure] = {}
        self.presented: dict[tuple[str, str], str] = {}  # (connector, thumbprint) -> last time
        self.connectors = {c.lower() for c in connectors}

    def _wanted(self, session: Session) -> bool:
        return not self.connectors or session.connector.lower() in self.connectors

    def add_file(self, name: str, lines: Iterable[str]) -> None:
        stats = FileStats(name)
        self.files.append(stats)
        for session in iter_sessions(lines, stats):
            if not self._wanted(session):
                continue
            self.sessions_total += 1
            failed = session.tls_result not in (None, "success")
            # keep: all sessions, those that did TLS, or only the failed ones.
            if failed or self.keep == "all" or (self.keep == "tls" and session.certificate is not None):
                self.sessions.append(session)
            if session.thumbprint:
                key = (session.connector, session.thumbprint)
                self.presented[key] = max(self.presented.get(key, ""), session.last_time or session.time)
            if failed:
                failure = self.failures.setdefault(
                    (session.connector, session.tls_result or "other"),
                    _Failure(session.connector, session.tls_result or "other"),
                )
                failure.count += 1
                failure.last_time = max(failure.last_time, session.last_time or session.time)
                if session.thumbprint:
                    failure.thumbprints.add(session.thumbprint)
                if session.tls_error:
                    failure.errors.add(session.tls_error)

    def findings(self, correlation: Mapping[str, str] | None = None) -> list[Finding]:
        out = []
        for failure in sorted(self.failures.values(), key=lambda f: (f.connector, f.cause)):
            fix, meaning = _CAUSES.get(failure.cause, (None, "see tls_error in the sessions"))
            thumbprints = sorted(failure.thumbprints)
            message = (
                f"connector {failure.connector!r} logged 'TLS negotiation failed with error {failure.cause}' "
                f"{failure.count} time(s), last at {failure.last_time}: {meaning}."
            )
            notes = [correlation[t] for t in thumbprints if correlation and t in correlation]
            if notes:
                message += " " + " ".join(notes)
            elif thumbprints:
                message += f" Certificate presented: {', '.join(thumbprints)}."
            out.append(
                finding(
                    "tls_failure_logged",
                    message,
                    {
                        "connector": failure.connector,
                        "cause": failure.cause,
                        "count": failure.count,
                        "last_time": failure.last_time,
                        "thumbprints": thumbprints,
                        "errors": sorted(failure.errors)[:5],
                    },
                    fix=fix,
                )
            )
        return out

    def result(self, correlation: Mapping[str, str] | None = None) -> dict[str, Any]:
        findings = self.findings(correlation)
        return {
            "sessions": [s.to_dict() for s in self.sessions],
            "sessions_total": self.sessions_total,
            "files": [f.to_dict() for f in self.files],
            "presented": [
                {"connector": c, "thumbprint": t, "last_time": last} for (c, t), last in sorted(self.presented.items())
            ],
            "findings": [f.to_dict() for f in findings],
            "compliant": not any(f.is_error for f in findings),
            "correlation": dict(correlation or {}),
        }


def log_files(src: str) -> list[Path]:
    """``src`` itself, or every ``*.log`` under it (sorted by name: Exchange's names sort by date)."""
    path = Path(src)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".log")
        if not files:
            raise InputError(f"option src: {src!r} holds no *.log files")
        return files
    raise InputError(f"option src: {src!r} is neither a file nor a folder on the controller")


def summarise_paths(paths: Iterable[Path], summary: LogSummary) -> LogSummary:
    for path in paths:
        # Line by line from disk: memory stays flat for logs of hundreds of MB.
        with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
            summary.add_file(str(path), handle)
    return summary


def summarise_agent_files(files: Iterable[Mapping[str, Any]], summary: LogSummary) -> LogSummary:
    """The agent's ``read_logs`` files (base64 content) through the same parser."""
    for entry in files:
        text = base64.b64decode(entry.get("content_b64") or "").decode("utf-8-sig", errors="replace")
        summary.add_file(str(entry.get("path") or entry.get("name")), io.StringIO(text, newline=""))
    return summary
