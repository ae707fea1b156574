"""bench_transports at its smallest size writes its JSON (never a timing assertion)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import bench_transports
from tests.lab.transports import TRANSPORT_HOSTS


@pytest.mark.lab
@pytest.mark.slow
def test_bench_transports_measures_every_transport_host(tmp_path: Path) -> None:
    out = tmp_path / "transports.json"
    assert bench_transports.main(["--repeat", "1", "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["kdc_start_seconds"] > 0 and document["lab_start_seconds"] > 0
    rows = {row["host"]: row for row in document["hosts"]}
    assert set(rows) == {h.name for h in TRANSPORT_HOSTS}
    assert all(row["tasks"] == 1 for row in rows.values())
    winrm_hosts = [h.name for h in TRANSPORT_HOSTS if h.connection == "winrm"]
    assert all(rows[name]["ok"] == 1 and rows[name]["median_seconds"] > 0 for name in winrm_hosts)
