"""A twin of production: cert_facts save_to -> python -m tests.lab twin -> the same plan, server by server, as --check
against the servers themselves; rehearse.yml runs the rollout on the twin and leaves production untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.conftest import REPO, LabStarter, run_playbook
from tests.lab import LabHandle, state_digest
from tests.lab.control import stop_lab
from tests.support.playbook import run_playbook as run_captured

pytestmark = [pytest.mark.lab, pytest.mark.slow]
SAVE = [
    {
        "hosts": "exchange",
        "gather_facts": False,
        "tasks": [{"name": "save", "certwarden.exchange.cert_facts": {"save_to": "{{ facts_dir }}"}}],
    }
]
APPLY = "Apply the desired state"


def _plans(inventories: list[Path], workdir: Path) -> dict[str, list[dict[str, Any]]]:
    """remediate.yml --check: the plan every server would get."""
    inventory = inventories[0]
    if len(inventories) > 1:  # one folder: Ansible reads its files in name order, the later ones winning
        inventory = workdir / "layered"
        inventory.mkdir(parents=True)
        for index, source in enumerate(inventories, start=1):
            (inventory / f"{index}-{source.name}").symlink_to(source)
    run = run_captured(REPO / "playbooks" / "remediate.yml", inventory, workdir, check=True)
    return {host: result.get("plan", []) for host, result in run.results(APPLY).items()}


def _twin(facts: Path, twin_dir: Path, inventory: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tests.lab", "twin", "--facts", str(facts), "--dir", str(twin_dir)]
    return subprocess.run(
        [*command, "--inventory", str(inventory)], check=False, cwd=REPO, capture_output=True, text=True, timeout=180
    )


def test_twin_round_trip_gives_the_same_plan_and_rehearsal_leaves_production_alone(
    fresh_lab: LabStarter, tmp_path: Path
) -> None:
    production: LabHandle = fresh_lab("field")
    facts = tmp_path / "facts"
    saved = run_captured(SAVE, production.inventory_path, tmp_path / "save", extra_vars={"facts_dir": str(facts)})
    assert saved.rc == 0, saved.output
    assert sorted(p.stem for p in facts.glob("*.json")) == sorted(production.hosts)
    assert "PRIVATE KEY" not in "".join(p.read_text() for p in facts.glob("*.json"))

    twin_inventory = tmp_path / "twin.yml"
    built = _twin(facts, tmp_path / "twin", twin_inventory)
    assert built.returncode == 0, built.stderr
    try:
        keys = list((tmp_path / "twin" / "hosts").glob("*/stores/My/*.key"))
        assert keys and all(json.loads(k.with_suffix(".json").read_text())["stand_in_key"] for k in keys)
        untouched = state_digest(production.dir)
        expected = _plans([production.inventory_path], tmp_path / "check-production")
        rehearsed = _plans([production.inventory_path, twin_inventory], tmp_path / "check-twin")
        assert set(rehearsed) == set(production.hosts)
        for host in production.hosts:
            assert rehearsed[host] == expected[host], host
        assert any(expected.values())  # the field lab has something to do

        rehearsal = run_playbook(
            "rehearse.yml",
            [production.inventory_path, twin_inventory],
            tmp_path / "rehearsal",
            limit="healthy,service-unbound",
        )
        assert rehearsal.returncode == 0, rehearsal.output[-3000:]
        assert {s["name"] for s in rehearsal.report["servers"]} == {"healthy", "service-unbound"}
        assert state_digest(production.dir) == untouched  # production was never touched

        refused = run_playbook("rehearse.yml", [production.inventory_path], tmp_path / "refused", limit="healthy")
        assert refused.returncode != 0 and "is not a twin's server" in refused.output
    finally:
        stop_lab(tmp_path / "twin")
