"""rollout.yml over 20 servers: each restarts what the renewal changed, once, in batches, and the rollout stops on
the first server whose probe does not see the renewed certificate with its full chain."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.fleet.conftest import LabStarter, run_playbook
from tests.lab.control import reboot_lab
from tests.lab.generations import stage_previous_generation
from tests.lab.state import write_json

pytestmark = [pytest.mark.lab, pytest.mark.slow]
BAD = "EX0008"  # the third batch of serial [1, "25%"] over 20: EX0007..EX0011


def test_rollout_restarts_each_server_once_in_batches_and_stops_on_the_first_probe_that_disagrees(
    fresh_lab: LabStarter, tmp_path: Path
) -> None:
    lab = fresh_lab("fleet", hosts=20)
    stage_previous_generation(lab.dir)
    lab = reboot_lab(lab)  # the services start on the previous certificate, as a real fleet runs it
    write_json(lab.host_dir(BAD) / "faults.json", {"restart_keeps_old": ["W3SVC"]})
    run = run_playbook("rollout.yml", [lab.inventory_path], tmp_path / "report")
    assert run.returncode != 0
    rollout = run.report["rollout"]
    assert rollout["stopped"] is True and rollout["stopped_on"] == [BAD]
    assert rollout["batches_started"] == 3
    assert rollout["not_reached"] == [f"EX{n:04d}" for n in range(12, 21)]
    assert f"{BAD} failed verification" in run.output and "restart_pending" in run.output
    restarted: Counter[tuple[str, str]] = Counter()
    for server in run.report["servers"]:
        for check in server["checks"]:
            if "Install the renewed certificate" in check["task"] and check["changed"]:
                restarted[(server["name"], "install")] += 1
        restarted[(server["name"], "restarts")] = sum(1 for s in server["applied"] if s["action"] == "restart_service")
    reached = [f"EX{n:04d}" for n in range(1, 12)]
    for name in reached:
        assert restarted[(name, "install")] == 1, (name, [c["task"] for c in run.server(name)["checks"]])
        # MSExchangeFrontEndTransport, MSExchangeTransport and W3SVC, each exactly once.
        assert restarted[(name, "restarts")] == 3, name
    for name in rollout["not_reached"]:
        assert restarted[(name, "restarts")] == 0, name
    statuses = {s["name"]: s["status"] for s in run.report["servers"]}
    assert statuses[BAD] == "failed"  # its verification stopped the rollout
    assert "restart_pending" in {f["code"] for f in run.server(BAD)["findings"]}
    assert all(statuses[name] == "compliant" for name in reached if name != BAD)
