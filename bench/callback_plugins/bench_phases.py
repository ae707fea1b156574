"""Bench-only callback: where a task's time goes inside its forked worker, as JSON lines.

Loaded in ansible's main process before any worker is forked, it wraps a few
functions of ansible-core, pywinrm and this collection with a timer, so every
worker inherits the wrapped versions and appends one line per call:
``{"pid": …, "phase": "Connection.exec_command", "ms": …}`` to
$CERTWARDEN_BENCH_PHASES. A worker runs exactly one task on one host, so the
lines of one pid are one task. Never enable it outside a benchmark.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_phases
type: aggregate
short_description: Time phases of each task inside its worker to $CERTWARDEN_BENCH_PHASES (benchmarks only)
description: Used by bench/bench_winrm.py --phases.
"""

_UTILS = "ansible_collections.certwarden.exchange.plugins.plugin_utils"
# (module, attribute path): wrapped where the caller looks the name up.
PHASES = (
    ("ansible.executor.process.worker", "WorkerProcess._run"),
    ("ansible.playbook.task", "Task.post_validate"),
    ("ansible.plugins.connection.winrm", "Connection._winrm_connect"),
    ("ansible.plugins.connection.winrm", "Connection.exec_command"),
    ("ansible.plugins.connection.winrm", "Connection._winrm_send_input"),
    ("ansible.plugins.connection.winrm", "Connection.close"),
    (f"{_UTILS}._runs.action_base", "CertwardenAction.run"),
    (f"{_UTILS}._runs.action_base", "CertwardenAction._validated_params"),
    (f"{_UTILS}._runs.compliance_run", "read_snapshot"),
    (f"{_UTILS}._runs.compliance_run", "analyse"),
    (f"{_UTILS}._wire.agent_calls", "run_agent"),
)


def _wrap(module_name: str, path: str, out: str) -> None:
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            line = json.dumps({"pid": os.getpid(), "phase": path, "ms": (time.perf_counter() - began) * 1000})
            with open(out, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    setattr(owner, name, timed)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_phases"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        out = os.environ.get("CERTWARDEN_BENCH_PHASES")
        if out:
            for module_name, path in PHASES:
                _wrap(module_name, path, out)
