"""The template-in-a-fork benchmark runs end to end at smoke size (its timings are not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_template_fork import FILTER_TEMPLATES, main


def test_template_fork_bench_smoke_writes_every_case(tmp_path: Path) -> None:
    out = tmp_path / "template_fork.json"
    assert main(["--repeat", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report["cold"]) == set(report["warm"]) == set(FILTER_TEMPLATES)
    assert set(report["interface"]) == {"twelve templates", "one dictionary"}
    assert all(value > 0 for case in ("cold", "warm", "interface") for value in report[case].values())
