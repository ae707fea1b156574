"""The engine benchmark runs end to end at smoke size (its timings are not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import __main__ as runner
from bench.bench_engine import main


def test_engine_bench_smoke_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "engine.json"
    assert main(["--quick", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["benchmark"] == "engine"
    [run] = report["runs"]
    assert run["certificates"] >= 60
    assert run["floor_ms"] > 0 and run["engine_ms"] > 0 and run["ratio"] > 0
    # The generated host is not trivially compliant: duplicates are found and a removal is planned.
    assert run["findings"] > 0 and run["plan_steps"] > 0
    assert (tmp_path / "engine-roots-100.b64").exists()  # the generated roots are cached next to the JSON


def test_runner_finds_every_benchmark_with_a_main() -> None:
    names = runner._modules()
    assert {"bench_engine", "bench_protocol_log"} <= set(names)
