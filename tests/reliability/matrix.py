"""The fault matrix report: one JSON row file per scenario, rendered to tests/output/reliability-matrix.md.

Tests run in parallel (pytest-xdist), so every test writes its own row and
re-renders the table from every row present; the last one to finish leaves the
complete table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.lab.state import write_bytes_atomic

OUTPUT = Path(__file__).resolve().parents[1] / "output"
ROWS = OUTPUT / "reliability-matrix"
COMMAND = ".venv/bin/pytest -q -n 2 tests/reliability/test_fault_matrix.py"


def record_row(scenario: str, row: dict[str, Any]) -> Path:
    write_bytes_atomic(ROWS / f"{scenario}.json", json.dumps(row, indent=2, sort_keys=True).encode("utf-8"))
    return render()


def render() -> Path:
    rows = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(ROWS.glob("*.json"))]
    lines = [
        "# Fault matrix (generated)",
        "",
        f"Reproduce: `{COMMAND}`",
        "",
        "| scenario | plan steps | cases (cut before + after each step) | first run unreachable | "
        "compliant after rerun | dangling references seen | certificates removed | restored byte-identical | "
        "seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['scenario']} | {' -> '.join(row['plan'])} | {row['cases']} | {row['unreachable']} | "
            f"{row['compliant']} | {row['dangling']} | {row['removed']} | {row['restored']} | {row['seconds']:.1f} |"
        )
    total = sum(r["cases"] for r in rows)
    lines += ["", f"{len(rows)} scenarios, {total} cases."]
    target = OUTPUT / "reliability-matrix.md"
    write_bytes_atomic(target, ("\n".join(lines) + "\n").encode("utf-8"))
    return target
