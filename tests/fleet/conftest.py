"""Fixtures for the fleet tests: labs in tmp folders, and ansible-playbook run for real against them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.lab import LabHandle, start_lab

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = Path(sys.executable).with_name("ansible-playbook")
PLAYBOOK_TIMEOUT = 240


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    report_dir: Path

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "report.json").read_text(encoding="utf-8"))

    def server(self, name: str) -> dict[str, Any]:
        return next(s for s in self.report["servers"] if s["name"] == name)


def run_playbook(
    playbook: str,
    inventories: list[Path],
    report_dir: Path,
    extra_vars: dict[str, Any] | None = None,
    limit: str | None = None,
) -> PlaybookRun:
    """ansible-playbook with the repository's ansible.cfg and the report callback enabled."""
    command = [str(PLAYBOOK_BIN), str(REPO / "playbooks" / playbook)]
    for inventory in inventories:
        command += ["-i", str(inventory)]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    if limit:
        command += ["--limit", limit]
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_CALLBACKS_ENABLED="certwarden.exchange.compliance_report",
        CERTWARDEN_REPORT_DIR=str(report_dir),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORKS="5",
    )
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT, check=False
    )
    return PlaybookRun(done.returncode, done.stdout + done.stderr, report_dir)


LabStarter = Callable[..., LabHandle]


@pytest.fixture
def fresh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabStarter]:
    """``fresh_lab(scenario)`` -> a running lab of its own, stopped after the test."""
    started: list[LabHandle] = []

    def make(scenario: str, hosts: int = 3) -> LabHandle:
        lab = start_lab(tmp_path_factory.mktemp(f"fleet-{scenario}") / "lab", scenario, hosts=hosts)
        started.append(lab)
        return lab

    yield make
    for lab in started:
        lab.stop()


@pytest.fixture(scope="module")
def field_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """The field lab (one host per failure, plus healthy), shared by tests that only read it."""
    lab = start_lab(tmp_path_factory.mktemp("fleet-field") / "lab", "field")
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def ghost_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Exchange host whose WinRM port nobody listens on: unreachable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path_factory.mktemp("ghost") / "ghost.yml"
    path.write_text(
        "exchange:\n  hosts:\n    ghost:\n"
        f"      ansible_host: 127.0.0.1\n      ansible_port: {port}\n"
        "      ansible_user: nobody\n      ansible_password: nothing\n      ansible_winrm_scheme: http\n"
        "      ansible_connection: winrm\n      ansible_winrm_transport: basic\n"
        "      ansible_winrm_operation_timeout_sec: 5\n      ansible_winrm_read_timeout_sec: 7\n",
        encoding="utf-8",
    )
    return path
