"""The lab's model of a server's fixed costs: every Exchange load is in the request log, once per invocation.

Counts only, never times: the costs are sleeps whose length a loaded machine stretches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.lab import LabHandle, start_lab
from tests.lab.client import LabClient
from tests.lab.costs import ServerCosts
from tests.lab.state import read_json, write_json

pytestmark = pytest.mark.lab


def _log(lab: LabHandle, host: str) -> list[dict[str, Any]]:
    path = lab.host_dir(host) / "requests.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _loads_and_commands(lab: LabHandle, host: str, since: int) -> tuple[list[str], list[str]]:
    entries = _log(lab, host)[since:]
    loads = [e["kind"] for e in entries if e["action"] == "exchange_load"]
    commands = [e["kind"] for e in entries if e["action"] == "command"]
    return loads, commands


@pytest.fixture(scope="module")
def lab(module_lab_factory: Any) -> LabHandle:
    return module_lab_factory("healthy", hosts=2)


def test_a_read_loads_exchange_once_and_a_raw_command_never(lab: LabHandle) -> None:
    client = LabClient(lab, "EX01")
    mark = len(_log(lab, "EX01"))
    client.call("read")
    client.powershell("exit 0")
    assert _loads_and_commands(lab, "EX01", mark) == (["read"], ["read", "raw"])


def test_apply_loads_exchange_only_for_exchange_steps(lab: LabHandle) -> None:
    client = LabClient(lab, "EX01")
    mark = len(_log(lab, "EX01"))
    client.call("apply", {"steps": []})
    assert _loads_and_commands(lab, "EX01", mark) == ([], ["apply"])
    thumbprint = lab.record["hosts"]["EX01"]["intended"]
    step = {"id": "s1", "action": "enable_services", "thumbprint": thumbprint, "services": ["SMTP"]}
    client.call("apply", {"steps": [step, {**step, "id": "s2"}]})
    assert _loads_and_commands(lab, "EX01", mark) == (["apply"], ["apply", "apply"])


def test_read_logs_loads_exchange_only_to_find_the_log_paths(lab: LabHandle) -> None:
    client = LabClient(lab, "EX01")
    mark = len(_log(lab, "EX01"))
    client.call("read_logs", {"paths": ["C:\\Nowhere"]})
    client.call("read_logs", {})
    assert _loads_and_commands(lab, "EX01", mark) == (["read_logs"], ["read_logs", "read_logs"])


def test_a_server_without_exchange_logs_no_load(lab: LabHandle) -> None:
    host_json = lab.host_dir("EX02") / "host.json"
    info = read_json(host_json)
    write_json(host_json, {**info, "exchange": False})
    try:
        mark = len(_log(lab, "EX02"))
        assert LabClient(lab, "EX02").call("read")["result"]["exchange"] is None
        assert _loads_and_commands(lab, "EX02", mark) == ([], ["read"])
    finally:
        write_json(host_json, info)


def test_costs_reach_every_host_and_commands_still_complete(tmp_path: Path) -> None:
    costs = ServerCosts(command_start_seconds=0.01, exchange_load_seconds=0.02)
    lab = start_lab(tmp_path / "lab", "healthy", hosts=2, costs=costs)
    try:
        for host in lab.hosts:
            assert ServerCosts.from_host_info(lab.host_info(host)) == costs
        assert LabClient(lab, "EX01").call("read")["ok"] is True
        assert _loads_and_commands(lab, "EX01", 0) == (["read"], ["read"])
    finally:
        lab.stop()
    assert ServerCosts.from_host_info({}) == ServerCosts()
