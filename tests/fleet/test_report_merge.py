"""A fleet checked in three slices, merged with playbooks/merge_reports.yml, gives the report of one unsliced run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fleet.conftest import PlaybookRun, run_playbook
from tests.lab import LabHandle

pytestmark = [pytest.mark.lab, pytest.mark.slow]
FILES = ("report.json", "junit.xml", "report.html")


def _times(report_dir: Path) -> tuple[str, str]:
    document = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    return document["started_utc"], document["finished_utc"]


def _normalised(report_dir: Path, name: str) -> str:
    """The file with the run's own start and end times replaced, the only things two runs cannot share."""
    text = (report_dir / name).read_text(encoding="utf-8")
    started, finished = _times(report_dir)
    for value, placeholder in ((started, "STARTED"), (finished, "FINISHED")):
        text = text.replace(value, placeholder).replace(value.rstrip("Z"), placeholder)
    return text


def test_three_slices_merge_into_the_unsliced_report(field_lab: LabHandle, tmp_path: Path) -> None:
    inventory = [field_lab.inventory_path]
    whole = run_playbook("compliance.yml", inventory, tmp_path / "whole")
    slices: list[PlaybookRun] = []
    for index in range(3):
        hosts = field_lab.hosts[index::3]
        slices.append(run_playbook("compliance.yml", inventory, tmp_path / f"slice-{index + 1}", limit=",".join(hosts)))
        assert {s["name"] for s in slices[-1].report["servers"]} == set(hosts)

    merged_dir = tmp_path / "merged"
    merge = run_playbook(
        "merge_reports.yml",
        inventory,
        tmp_path / "merge-run",
        extra_vars={
            "certwarden_report_slices": [str(s.report_dir) for s in slices],
            "certwarden_report_dir": str(merged_dir),
        },
    )
    assert merge.returncode == 0, merge.output[-3000:]
    merged = json.loads((merged_dir / "report.json").read_text(encoding="utf-8"))
    assert merged["started_utc"] == min(_times(s.report_dir)[0] for s in slices)
    assert merged["finished_utc"] == max(_times(s.report_dir)[1] for s in slices)
    assert merged["summary"] == whole.report["summary"]
    for name in FILES:
        assert _normalised(merged_dir, name) == _normalised(whole.report_dir, name), name


def test_a_server_in_two_slices_is_refused(field_lab: LabHandle, tmp_path: Path) -> None:
    first = run_playbook("compliance.yml", [field_lab.inventory_path], tmp_path / "a", limit="healthy")
    merge = run_playbook(
        "merge_reports.yml",
        [field_lab.inventory_path],
        tmp_path / "merge-run",
        extra_vars={
            "certwarden_report_slices": [str(first.report_dir), str(first.report_dir)],
            "certwarden_report_dir": str(tmp_path / "merged"),
        },
    )
    assert merge.returncode != 0
    assert "server healthy is in two slices" in merge.output
    assert not (tmp_path / "merged").exists()
