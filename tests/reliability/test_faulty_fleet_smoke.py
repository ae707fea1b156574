"""bench/bench_faulty_fleet.py at a smoke size: every healthy server compliant, every faulty one reported,
the rerun converges (the full 200-server figures are in docs/reliability.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import bench_faulty_fleet

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_faulty_fleet_smoke(tmp_path: Path) -> None:
    out = tmp_path / "faulty.json"
    status = bench_faulty_fleet.main(["--servers", "10", "--forks", "5", "--faulty-percent", "60", "--json", str(out)])
    [row] = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert status == 0, row.get("not_right")
    first = row["first_run"]
    assert row["faulty"] == 6 and first["faulty_reported"] == 6
    assert first["healthy_compliant"] == first["healthy"] == 4
    assert set(first["faulty_by_status"]) == set(bench_faulty_fleet.FAULTS)  # every kind of fault was dealt
    assert first["faulty_by_status"]["truncated output"] == {"failed": 1}
    assert first["faulty_by_status"]["gone"] == {"unreachable": 1}
    assert row["rerun"]["compliant"] == 10
