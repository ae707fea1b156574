# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet compliance report: report.json, junit.xml and report.html at the end of a run."""

from __future__ import annotations

DOCUMENTATION = r"""
name: compliance_report
type: aggregate
short_description: Write the fleet TLS certificate compliance report (JSON, JUnit XML, HTML)
version_added: 0.1.0
description:
  - Collects every result of C(certwarden.exchange.cert_compliance), C(cert_facts), C(smtp_tls_probe) and
    C(protocol_log) in the run (the task's action matched by its short or fully qualified name), plus unreachable
    servers and failed tasks on those servers, and at the end of the playbook writes to O(report_dir)
    C(report.json) (schema in docs/report.md), C(junit.xml) (one test case per server and finding code) and
    C(report.html) (one self-contained page).
  - Prints a short summary on the terminal at the end of the run.
  - With O(fail_on) set to C(error) or C(warning), the run exits with status 2 when any server has a finding at or
    above it, after the report is written, whatever the playbook (a run that already failed keeps its own status).
    The exit is raised from this callback's end-of-run hook, so aggregate callbacks listed after it in
    C(callbacks_enabled) miss that hook, so list it last.
  - Secrets never reach the report; only a fixed list of result keys is kept, and passwords are masked.
author:
  - certwarden.exchange developers (@certwarden)
requirements:
  - enable it in C(callbacks_enabled) (ansible.cfg) or C(ANSIBLE_CALLBACKS_ENABLED)
options:
  report_dir:
    description: Folder the report files are written to (created when missing).
    type: path
    default: ./certwarden-report
    env:
      - name: CERTWARDEN_REPORT_DIR
    ini:
      - section: certwarden
        key: report_dir
      - section: callback_compliance_report
        key: report_dir
  formats:
    description: Which files to write.
    type: list
    elements: str
    default: [json, junit, html]
    env:
      - name: CERTWARDEN_REPORT_FORMATS
    ini:
      - section: certwarden
        key: report_formats
      - section: callback_compliance_report
        key: formats
  fail_on:
    description:
      - C(error) makes the run exit non-zero when any server has an error finding, C(warning) when any has a
        finding at all, C(never) leaves the exit status to Ansible.
      - The same values, and the same meaning, as the roles' C(certwarden_fail_on).
    type: str
    choices: [error, warning, never]
    default: never
    env:
      - name: CERTWARDEN_FAIL_ON
    ini:
      - section: certwarden
        key: fail_on
      - section: callback_compliance_report
        key: fail_on
"""

import datetime as dt
import os
from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase

from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.drift_text import check_threshold, reaches
from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.files import RENDERERS
from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.model import FleetReport

_SHOWN_SERVERS = 15
# ansible-playbook's own status when a host failed.
_EXIT_FAILED_HOSTS = 2


def _parts(result: Any) -> tuple[str, Any, dict[str, Any]]:
    """Host name, task and result dict, on ansible-core 2.19 (public names) and older (underscored)."""
    host = getattr(result, "host", None) or result._host
    task = getattr(result, "task", None) or result._task
    data = getattr(result, "result", None)
    if data is None:
        data = result._result
    return host.get_name(), task, dict(data)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "certwarden.exchange.compliance_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.report = FleetReport(_utc_now)
        self.play_name = ""

    # collecting -------------------------------------------------------------
    def v2_playbook_on_start(self, playbook: Any) -> None:
        self.report.playbook = os.path.basename(getattr(playbook, "_file_name", "") or "")

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self.play_name = play.get_name() or str(getattr(play, "hosts", ""))
        serial = getattr(play, "serial", None)
        self.report.play_started(self.play_name, bool(serial))

    def _record(self, result: Any, status: str) -> None:
        host, task, data = _parts(result)
        action = getattr(task, "resolved_action", None) or task.action
        if task.check_mode:
            self.report.check_mode = True
        self.report.add_result(host, action, task=task.get_name(), play=self.play_name, status=status, result=data)

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        host, task, data = _parts(result)
        self.report.add_unreachable(host, task.get_name(), self.play_name, str(data.get("msg") or "unreachable"))

    # writing ----------------------------------------------------------------
    def _write(self, document: dict[str, Any]) -> Path | None:
        folder = Path(os.path.expanduser(str(self.get_option("report_dir"))))
        formats = [str(f).strip().lower() for f in self.get_option("formats") or []]
        unknown = [f for f in formats if f not in RENDERERS]
        if unknown:
            self._display.warning(
                f"certwarden report: unknown format(s) {', '.join(unknown)} in 'formats'; "
                f"choose from {', '.join(RENDERERS)}"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for fmt in formats:
                if fmt in RENDERERS:
                    filename, render = RENDERERS[fmt]
                    (folder / filename).write_text(render(document), encoding="utf-8")
        except OSError as error:
            self._display.warning(f"certwarden report: could not write the report to {folder}: {error.strerror}")
            return None
        return folder

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if not self.report.servers:
            return
        document = self.report.to_dict()
        folder = self._write(document)
        summary = document["summary"]
        self._display.banner("CERTWARDEN COMPLIANCE")
        self._display.display(
            f"{summary['servers']} servers: {summary['compliant']} compliant, {summary['drifting']} drifting, "
            f"{summary['failed']} failed, {summary['unreachable']} unreachable, {summary['changed']} changed"
        )
        not_compliant = [s for s in document["servers"] if s["status"] != "compliant"]
        for server in not_compliant[:_SHOWN_SERVERS]:
            codes = sorted({f["code"] for f in server["findings"] if f["severity"] == "error"})
            reason = server["unreachable"] or ", ".join(codes) or "; ".join(e["msg"] for e in server["errors"])
            self._display.display(f"  {server['name']}: {server['status']}: {reason}")
        rest = len(not_compliant) - _SHOWN_SERVERS
        if rest > 0:
            self._display.display(f"  ... and {rest} more (see the report)")
        if document["rollout"]:
            self._display.display(document["rollout"]["advice"])
        if folder is not None:
            self._display.display(f"report: {folder}")
        self._exit_on_drift(document, stats)

    def _exit_on_drift(self, document: dict[str, Any], stats: Any) -> None:
        """Make the run exit non-zero when a server's findings reach ``fail_on`` and nothing else failed."""
        try:
            fail_on = check_threshold(str(self.get_option("fail_on")), "fail_on")
        except ValueError as error:
            self._display.warning(f"certwarden report: {error}")
            return
        drifting = [
            server["name"]
            for server in document["servers"]
            if any(reaches(f["severity"], fail_on) for f in server["findings"])
        ]
        already_failed = any(stats.failures.values()) or any(stats.dark.values())
        if not drifting or already_failed:
            return
        self._display.display(
            f"certwarden report: {len(drifting)} server(s) drift at or above fail_on={fail_on}: {', '.join(drifting)}"
        )
        # Nothing else sets ansible-playbook's status from a callback; SystemExit passes through the
        # callback dispatcher (it only catches Exception) after the stdout callback printed the recap.
        raise SystemExit(_EXIT_FAILED_HOSTS)
