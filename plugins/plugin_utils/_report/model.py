# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet compliance report: every certwarden result of a run, per server.

The callback feeds results in the order they arrive (with forks > 1 they
interleave across hosts); everything here is keyed by host and task, so the
order never matters. ``to_dict`` is the ``report.json`` document described in
docs/report.md; the JUnit and HTML renderers read only that document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.redaction import redact

SCHEMA_VERSION = 1

# The modules whose results the report collects, by short name.
REPORTED_MODULES = ("cert_compliance", "cert_facts", "smtp_tls_probe", "protocol_log")
_COLLECTION = "certwarden.exchange."
# cert_compliance's `probes` are this module's results, and are reported as such.
PROBE_MODULE = "smtp_tls_probe"
# Judges results the report already holds: its failure is the drift, reported as such, not a failed server.
VERDICT_MODULE = "compliance_verdict"

# Only these keys of a result reach the report: an allow-list, so that nothing
# a module might add later (or ansible's own `invocation`) can leak a secret.
_KEPT_KEYS = (
    "changed",
    "compliant",
    "findings",
    "findings_after",
    "plan",
    "applied",
    "backups",
    "diff",
    "host",
    "certificates",
    "msg",
    # smtp_tls_probe: what the wire showed, beside what the store would present.
    "endpoint",
    "protocol",
    "chain",
    "stored",
)

STATUS_ORDER = ("unreachable", "failed", "drifting", "compliant")

# The transport reports a connection it could not make as a failed task (its
# AgentError category `connection`), not as ansible's unreachable; these are the
# beginnings of those messages (docs/agent-protocol.md, "Transport errors").
_CONNECTION_FAILURES = (" lost the connection", " failed to run: ")


def reported_module(action: str | None) -> str | None:
    """The short module name when ``action`` is one the report collects (short or fully qualified)."""
    if not action:
        return None
    short = action[len(_COLLECTION) :] if action.startswith(_COLLECTION) else action
    return short if short in REPORTED_MODULES else None


def utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _finding(item: Any, module: str, task: str) -> dict[str, Any] | None:
    if not isinstance(item, dict) or not item.get("code"):
        return None
    return {
        "code": str(item["code"]),
        "severity": str(item.get("severity") or "error"),
        "message": str(item.get("message") or ""),
        "evidence": redact(item.get("evidence") or {}),
        "fix": item.get("fix"),
        "module": module,
        "task": task,
    }


@dataclass
class CheckRun:
    """One certwarden task's result on one server."""

    module: str
    task: str
    play: str
    status: str  # ok | failed | unreachable
    result: dict[str, Any]
    # Which of a task's results this is: "" for the task's own, the endpoint for a cert_compliance probe.
    part: str = ""

    @property
    def applied(self) -> bool:
        return "findings_after" in self.result

    def current_findings(self) -> list[dict[str, Any]]:
        """What is true of the server after this task: the verifying read when it changed something."""
        source = self.result.get("findings_after") if self.applied else self.result.get("findings")
        found = (_finding(item, self.module, self.task) for item in source or [])
        return [f for f in found if f is not None]

    def to_dict(self) -> dict[str, Any]:
        compliant = self.result.get("compliant")
        return {
            "module": self.module,
            "task": self.task,
            "play": self.play,
            "status": self.status,
            "changed": bool(self.result.get("changed")),
            "compliant": compliant if isinstance(compliant, bool) else None,
            "msg": self.result.get("msg") if self.status != "ok" or not compliant else None,
            "findings": [
                f for f in (_finding(i, self.module, self.task) for i in self.result.get("findings") or []) if f
            ],
        }


@dataclass
class ServerRecord:
    name: str
    checks: list[CheckRun] = field(default_factory=list)
    unreachable_msg: str | None = None
    other_failures: list[dict[str, str]] = field(default_factory=list)
    plays: set[str] = field(default_factory=set)

    def latest(self) -> list[CheckRun]:
        """The runs that describe the server as it is now.

        A run that changed the server makes every earlier read stale, so only
        it (through its verifying read) and the runs after it count; of those,
        a task that ran twice counts once, as it ended.
        """
        start = 0
        for index, run in enumerate(self.checks):
            if run.applied and run.result.get("changed"):
                start = index
        latest: dict[tuple[str, str, str], CheckRun] = {}
        for run in self.checks[start:]:
            latest[(run.task, run.module, run.part)] = run
        return list(latest.values())

    def findings(self) -> list[dict[str, Any]]:
        seen: set[tuple[str, str]] = set()
        found = []
        for run in self.latest():
            for item in run.current_findings():
                key = (item["code"], item["message"])
                if key not in seen:
                    seen.add(key)
                    found.append(item)
        return sorted(found, key=lambda f: (f["severity"] != "error", f["code"], f["message"]))

    def status(self) -> str:
        if self.unreachable_msg is not None:
            return "unreachable"
        runs = self.latest()
        if any(run.status == "failed" and not run.current_findings() for run in runs) or self.other_failures:
            return "failed"
        if any(f["severity"] == "error" for f in self.findings()):
            return "drifting"
        if any(run.result.get("compliant") is False for run in runs):
            return "drifting"
        return "compliant" if runs else "failed"

    def _last_key(self, key: str) -> Any:
        for run in reversed(self.checks):
            value = run.result.get(key)
            if value:
                return value
        return None

    def wire(self) -> list[dict[str, Any]]:
        """Per probed endpoint, "stored" (what the store would present) beside "presented" (what the wire showed)."""
        rows = []
        for run in self.latest():
            if run.module != PROBE_MODULE or run.status != "ok" or not run.result.get("endpoint"):
                continue
            chain = [c for c in run.result.get("chain") or [] if isinstance(c, dict)]
            presented = {
                "certificate": chain[0].get("thumbprint") if chain else None,
                "chain": [c.get("thumbprint") for c in chain[1:] if not c.get("is_self_signed")],
            }
            stored = run.result.get("stored")
            stored = (
                {"certificate": stored.get("certificate"), "chain": list(stored.get("chain") or [])} if stored else None
            )
            rows.append(
                {
                    "protocol": run.result.get("protocol") or "SMTP",
                    "endpoint": run.result["endpoint"],
                    "stored": stored,
                    "presented": presented,
                    "agrees": None if stored is None else stored == presented,
                }
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        host = self._last_key("host") or {}
        applied = [run for run in self.checks if run.applied]
        backups = [b for run in applied for b in run.result.get("backups") or []]
        diffs = [
            {"task": run.task, "before": run.result["diff"].get("before"), "after": run.result["diff"].get("after")}
            for run in self.checks
            if isinstance(run.result.get("diff"), dict) and run.result.get("changed")
        ]
        errors = list(self.other_failures)
        errors += [
            {"task": run.task, "msg": str(run.result.get("msg") or "failed")}
            for run in self.latest()
            if run.status == "failed" and not run.current_findings()
        ]
        return {
            "name": self.name,
            "computer_name": host.get("computer_name"),
            "fqdn": host.get("fqdn"),
            "status": self.status(),
            "changed": any(run.result.get("changed") and run.status == "ok" for run in applied),
            "unreachable": self.unreachable_msg,
            "errors": errors,
            "findings": self.findings(),
            "certificates": redact(self._last_key("certificates") or []),
            "wire": self.wire(),
            "applied": [redact(step) for run in applied for step in run.result.get("applied") or []],
            "backups": redact(backups),
            "diffs": redact(diffs),
            "checks": [run.to_dict() for run in self.checks],
        }


def summarise(servers: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's ``summary``: servers per status, servers changed, servers per finding code."""
    counts = {status: 0 for status in STATUS_ORDER}
    codes: dict[str, int] = {}
    for server in servers:
        counts[server["status"]] += 1
        for code in {f["code"] for f in server["findings"]}:
            codes[code] = codes.get(code, 0) + 1
    return {
        "servers": len(servers),
        **counts,
        "changed": sum(1 for s in servers if s["changed"]),
        "finding_codes": dict(sorted(codes.items())),
    }


class FleetReport:
    """Collects results as they arrive and turns them into the report document."""

    def __init__(self, clock: Callable[[], dt.datetime], playbook: str = "") -> None:
        self.playbook = playbook
        self.clock = clock  # the caller's: the report reads no clock of its own
        self.started = utc_text(clock())
        self.servers: dict[str, ServerRecord] = {}
        self.serial_plays: dict[str, int] = {}  # play name -> batches that ran anything
        # Ansible announces every batch of a serial play, even those that run no
        # task because the play already stopped: a batch counts once a result
        # arrives in it.
        self._batch_counted: dict[str, bool] = {}
        self.check_mode = False

    def server(self, name: str) -> ServerRecord:
        if name not in self.servers:
            self.servers[name] = ServerRecord(name)
        return self.servers[name]

    def play_started(self, play: str, serial: bool) -> None:
        if serial:
            self.serial_plays.setdefault(play, 0)
            self._batch_counted[play] = False

    def _count_batch(self, play: str) -> None:
        if play in self.serial_plays and not self._batch_counted.get(play, True):
            self.serial_plays[play] += 1
            self._batch_counted[play] = True

    def add_result(
        self, host: str, action: str | None, *, task: str, play: str, status: str, result: dict[str, Any]
    ) -> bool:
        """Record one result; returns False when it is not a certwarden module's (then only failures count)."""
        self._count_batch(play)
        module = reported_module(action)
        if module is None:
            if action in (VERDICT_MODULE, _COLLECTION + VERDICT_MODULE):
                return False
            if status == "failed" and host in self.servers:
                self.server(host).other_failures.append({"task": task, "msg": str(result.get("msg") or "failed")})
            if host in self.servers:
                self.server(host).plays.add(play)
            return False
        kept = {key: result[key] for key in _KEPT_KEYS if key in result}
        if (
            status == "failed"
            and "findings" not in kept
            and any(m in str(kept.get("msg")) for m in _CONNECTION_FAILURES)
        ):
            self.add_unreachable(host, task, play, str(kept["msg"]))
            return True
        record = self.server(host)
        record.plays.add(play)
        probes = [p for p in result.get("probes") or [] if isinstance(p, dict)] if module == "cert_compliance" else []
        record.checks.append(CheckRun(module, task, play, status, kept))
        for probe in probes:
            # A probe is part of its task: the task's changed (the role's changed_when: any finding) is its own.
            probed = {**{key: probe[key] for key in _KEPT_KEYS if key in probe}, "changed": kept.get("changed")}
            part = str(probe.get("endpoint") or len(record.checks))
            record.checks.append(
                CheckRun(PROBE_MODULE, task, play, "failed" if probe.get("failed") else "ok", probed, part)
            )
        return True

    def add_unreachable(self, host: str, task: str, play: str, msg: str) -> None:
        self._count_batch(play)
        record = self.server(host)
        record.plays.add(play)
        record.unreachable_msg = f"{task}: {msg}" if task else msg

    def _rollout(self, servers: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Where a batched (serial) play stopped, and what to do next."""
        if not self.serial_plays:
            return None
        play = next(reversed(self.serial_plays))
        reached = [s for s in self.servers.values() if play in s.plays]
        stopped_on = [s["name"] for s in servers if s["status"] in ("failed", "unreachable")]
        not_reached = sorted(s.name for s in self.servers.values() if play not in s.plays and s.name not in stopped_on)
        backups = [
            {"server": s["name"], **b} for s in servers if s["name"] in {r.name for r in reached} for b in s["backups"]
        ]
        stopped = bool(stopped_on)
        if stopped:
            advice = (
                (
                    f"The rollout stopped in batch {self.serial_plays[play]}"
                    if self.serial_plays[play]
                    else "The rollout stopped before its first batch"
                )
                + f" because of {', '.join(stopped_on)}. "
                "Fix those servers and run the playbook again (servers already done are left unchanged), "
                + (f"or continue with --limit '{','.join(stopped_on + not_reached)}'; " if not_reached else "")
                + "to roll back a server, run certwarden.exchange.cert_restore with the backups listed here."
            )
        else:
            advice = "Every batch finished, on every server."
        return {
            "play": play,
            "batches_started": self.serial_plays[play],
            "stopped": stopped,
            "stopped_on": stopped_on,
            "completed": sorted(s.name for s in reached if s.name not in stopped_on),
            "not_reached": not_reached,
            "backups": backups,
            "advice": advice,
        }

    def to_dict(self) -> dict[str, Any]:
        servers = [self.servers[name].to_dict() for name in sorted(self.servers)]
        return {
            "schema_version": SCHEMA_VERSION,
            "generator": "certwarden.exchange.compliance_report",
            "playbook": self.playbook,
            "started_utc": self.started,
            "finished_utc": utc_text(self.clock()),
            "check_mode": self.check_mode,
            "summary": summarise(servers),
            "rollout": self._rollout(servers),
            "servers": servers,
        }
