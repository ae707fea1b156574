"""The protocol log benchmark runs end to end on a tiny log (its numbers are not asserted)."""

from __future__ import annotations

from pathlib import Path

from bench.bench_protocol_log import generate, measure


def test_bench_smoke(tmp_path: Path) -> None:
    path = tmp_path / "SEND.log"
    sessions = generate(path, 0.2)
    row = measure(path)
    assert row["sessions"] == sessions
    assert row["failures"] == sessions // 2  # every other session fails with NoCredentials
    assert row["mb_per_s"] > 0
