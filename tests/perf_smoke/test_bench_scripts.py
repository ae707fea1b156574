"""Each lab benchmark runs at a tiny size and writes its JSON (never a timing assertion)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence import trust_bundle
from bench import bench_fleet, bench_report, bench_trust_fork, bench_winrm
from tests.support.chromium import chromium_path


@pytest.mark.lab
@pytest.mark.slow
def test_bench_winrm_counts_and_ratio(tmp_path: Path) -> None:
    out = tmp_path / "winrm.json"
    argv = ["--hosts", "2", "--repeat", "1", "--forks", "2", "--phases", "--floor", "--json", str(out)]
    assert bench_winrm.main(argv) == 0
    document = json.loads(out.read_text())
    rows = {row["host"]: row for row in document["commands"]["hosts"]}
    # The counts come from the lab's request log: the module's promise, and the naive playbook's cost.
    assert all(row["cert_compliance check"] == 1 and row["cert_facts"] == 1 for row in rows.values())
    assert rows["healthy"]["cert_compliance apply"] == 1  # nothing to apply: the read only
    assert rows["duplicate-no-key"]["cert_compliance apply"] == 2  # read, then apply-and-read
    assert all(row["cert_compliance check: Exchange loads"] == 1 for row in rows.values())
    assert rows["duplicate-no-key"]["cert_compliance apply: Exchange loads"] == 2
    assert all(row["naive check"] == 5 for row in rows.values())
    assert rows["expiring"]["naive apply"] == 5 + rows["expiring"]["planned_steps"]
    (run,) = document["ratio"]["runs"]
    assert run["hosts"] == 2 and run["forks"] == 2 and run["median_pair_ratio"] > 0
    assert run["agent read only"]["median_pair_ratio"] > 0  # the floor: the same arguments, the read alone
    # The phase run saw both kinds of task, and only the check task runs the collection's code.
    phases = document["ratio"]["phases_ms_forks_1"]
    assert phases["raw no-op"]["Connection.exec_command"] > 0
    assert "CertwardenAction.run" not in phases["raw no-op"]
    assert phases["cert_compliance check"]["analyse"] > 0
    (cpu,) = document["ratio"]["cpu_per_task"]  # too few tasks here for the figures to mean anything
    assert set(cpu) == {"forks", "raw no-op", "cert_compliance check", "agent read only", "ratio"}


@pytest.mark.lab
@pytest.mark.slow
def test_bench_fleet_small(tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    assert bench_fleet.main(["--servers", "2,3", "--forks", "2", "--pairs", "1", "--json", str(out)]) == 0
    runs = json.loads(out.read_text())["runs"]
    assert [r["servers"] for r in runs] == [2, 3]
    for run in runs:
        assert run["lab_alone"]["ok"] == run["servers"]
        for kind in ("raw", "nightly"):
            assert len(run[kind]["wall_seconds"]) == 1 and run[kind]["peak_pss_mib"] > 0
        # The nightly reads every server: at least one command and one Exchange load each.
        assert run["nightly_per_server"]["winrm_commands"] >= 1 and run["nightly_per_server"]["exchange_loads"] >= 1
        assert set(run["ratio"]) == {"wall_pairs", "cpu_pairs", "wall", "cpu"}


@pytest.mark.lab
@pytest.mark.slow
def test_bench_fleet_with_the_system_trust(tmp_path: Path) -> None:
    if trust_bundle.system_bundle() is None:
        pytest.skip("this machine has no system CA bundle")
    out = tmp_path / "fleet.json"
    argv = ["--servers", "2", "--forks", "2", "--pairs", "1", "--system-trust", "--json", str(out)]
    assert bench_fleet.main(argv) == 0  # fails if the probes did not trust the lab's root through SSL_CERT_FILE
    (run,) = json.loads(out.read_text())["runs"]
    assert run["system_trust"] is True


def test_bench_trust_fork_small(tmp_path: Path) -> None:
    if trust_bundle.system_bundle() is None:
        pytest.skip("this machine has no system CA bundle")
    out = tmp_path / "trust.json"
    assert bench_trust_fork.main(["--repeat", "2", "--json", str(out)]) == 0
    assert set(json.loads(out.read_text())["ms"]) == {"parsed in the child", "reused from the parent"}


@pytest.mark.chromium
def test_bench_report_small(tmp_path: Path) -> None:
    if chromium_path() is None:
        pytest.skip("Debian's chromium is not installed (tests/support/ensure-system-deps.sh installs it)")
    out = tmp_path / "report.json"
    assert bench_report.main(["--servers", "20", "--repeat", "1", "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["filters_usable"] is True
    assert document["shown_after_filter"]["reset"] == 20


def test_synthetic_fleet_report_has_every_status() -> None:
    document, html, _unused = bench_report.build_report(200)
    summary = document["summary"]
    assert summary["servers"] == 200
    assert all(summary[status] > 0 for status in ("compliant", "drifting", "failed", "unreachable"))
    assert html.count('<details class="server"') == 200
