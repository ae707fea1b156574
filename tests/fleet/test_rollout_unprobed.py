"""rollout.yml stops on a server whose endpoint cannot be probed: a verification that saw nothing is not a pass."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from tests.fleet.conftest import LabStarter, run_playbook
from tests.lab.generations import stage_previous_generation

pytestmark = [pytest.mark.lab, pytest.mark.slow]
UNPROBED = "EX0002"  # the second batch of serial [1, "25%"] over 3


def test_a_server_whose_https_endpoint_refuses_the_probe_stops_the_rollout(
    fresh_lab: LabStarter, tmp_path: Path
) -> None:
    lab = fresh_lab("fleet", hosts=3)
    stage_previous_generation(lab.dir)
    # Bound but never listening: every connection to it is refused, and no other process can take the port.
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    try:
        overrides = tmp_path / "unprobed.yml"
        port = closed.getsockname()[1]
        overrides.write_text(yaml.safe_dump({"all": {"hosts": {UNPROBED: {"certwarden_probe_https_port": port}}}}))
        run = run_playbook("rollout.yml", [lab.inventory_path, overrides], tmp_path / "report")
    finally:
        closed.close()
    assert run.returncode != 0
    assert f"{UNPROBED} failed verification" in run.output, run.output[-3000:]
    assert f"not probed: 127.0.0.1:{port}" in run.output, run.output[-3000:]
    rollout = run.report["rollout"]
    assert rollout["stopped"] is True and rollout["stopped_on"] == [UNPROBED]
    assert rollout["not_reached"] == ["EX0003"]
