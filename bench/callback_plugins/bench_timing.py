"""Bench-only callback: when each task started and ended on each host, as JSON lines.

Both timestamps are taken in the controller's main process when ansible hands
it the worker's events, so the queue latency is in both and the difference is
what the user waits for one task on one host.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timing
type: aggregate
short_description: Write per-host task start/end times to $CERTWARDEN_BENCH_TIMING (benchmarks only)
description: Used by bench/bench_winrm.py and bench/bench_fleet.py.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._started: dict[tuple[str, str], float] = {}
        path = os.environ.get("CERTWARDEN_BENCH_TIMING")
        self._out = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115 - closed on stats

    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        self._started[(host.get_name(), task._uuid)] = time.perf_counter()

    def _end(self, result: Any, status: str) -> None:
        ended = time.perf_counter()
        host = result._host.get_name()
        task = result._task
        began = self._started.pop((host, task._uuid), None)
        if self._out is None or began is None:
            return
        record = {
            "host": host,
            "task": task.get_name(),
            "status": status,
            "seconds": ended - began,
            "started": began,  # perf_counter of the main process: comparable within one run
            "ended": ended,
        }
        self._out.write(json.dumps(record) + "\n")

    def v2_runner_on_ok(self, result: Any) -> None:
        self._end(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._end(result, "failed")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._end(result, "unreachable")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._end(result, "skipped")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
