"""compliance.yml against the field lab (plus one unreachable host): nothing changes, and the report is right."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import xmlschema

from tests.fleet.conftest import PlaybookRun, run_playbook
from tests.lab import LabHandle, state_digest
from tests.support.chromium import chromium_path, headless_argv

pytestmark = [pytest.mark.lab, pytest.mark.slow]
HERE = Path(__file__).parent
BROKEN = (
    "duplicate-no-key",
    "imported-without-key",
    "duplicate-revoked",
    "missing-intermediate",
    "missing-intermediate-cross",
    "service-unbound",
    "stale-connector",
    "expiring",
)


@pytest.fixture(scope="module")
def nightly(
    field_lab: LabHandle, ghost_inventory: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PlaybookRun, str, str]]:
    before = state_digest(field_lab.dir)
    run = run_playbook(
        "compliance.yml", [field_lab.inventory_path, ghost_inventory], tmp_path_factory.mktemp("nightly-report")
    )
    yield run, before, state_digest(field_lab.dir)


def test_the_nightly_run_changes_nothing(nightly: tuple[PlaybookRun, str, str]) -> None:
    run, before, after = nightly
    assert before == after
    # The unreachable host is named, and only it fails the run (the transport
    # reports it as a failed task, 2, or ansible as unreachable, 4).
    assert "ghost: unreachable" in run.output
    assert run.returncode in (2, 4), run.output[-3000:]


def test_every_server_gets_its_status(nightly: tuple[PlaybookRun, str, str]) -> None:
    run, _before, _after = nightly
    report = run.report
    assert report["schema_version"] == 1
    statuses = {s["name"]: s["status"] for s in report["servers"]}
    assert statuses == {"healthy": "compliant", "ghost": "unreachable", **dict.fromkeys(BROKEN, "drifting")}
    assert report["summary"]["compliant"] == 1
    assert report["summary"]["drifting"] == len(BROKEN)
    assert report["summary"]["unreachable"] == 1
    assert report["summary"]["changed"] == 0


def test_findings_name_the_failures_the_scenarios_built(nightly: tuple[PlaybookRun, str, str]) -> None:
    run, _before, _after = nightly
    codes = {s["name"]: {f["code"] for f in s["findings"]} for s in run.report["servers"]}
    assert "duplicate_certificate" in codes["duplicate-no-key"]
    assert "revoked" in codes["duplicate-revoked"]
    assert "incomplete_chain" in codes["missing-intermediate"]
    assert "service_not_enabled" in codes["service-unbound"]
    assert "connector_mismatch" in codes["stale-connector"]
    assert "expiring_soon" in codes["expiring"]
    assert codes["healthy"] == set()
    expiring = run.server("expiring")
    assert min(c["days_to_expiry"] for c in expiring["certificates"]) < 10
    assert all(f["fix"] is None or isinstance(f["fix"], str) for s in run.report["servers"] for f in s["findings"])


def test_junit_is_valid_and_fails_exactly_the_findings(nightly: tuple[PlaybookRun, str, str]) -> None:
    run, _before, _after = nightly
    schema = xmlschema.XMLSchema(HERE / "junit.xsd")
    junit = run.report_dir / "junit.xml"
    schema.validate(junit)
    tree = schema.to_dict(junit)
    suites = {s["@name"]: s for s in tree["testsuite"]}
    assert suites["healthy"]["@failures"] == 0 and suites["healthy"]["@tests"] > 20
    assert suites["ghost"]["@errors"] == 1
    failed = {c["@name"] for c in suites["missing-intermediate"]["testcase"] if "failure" in c}
    assert failed == {f["code"] for f in run.server("missing-intermediate")["findings"] if f["severity"] == "error"}


def test_no_secret_reaches_any_report_file(nightly: tuple[PlaybookRun, str, str], field_lab: LabHandle) -> None:
    run, _before, _after = nightly
    password = field_lab.record["pfx_password"]
    lab_password = field_lab.host_info("healthy")["auth"]["password"]
    for name in ("report.json", "junit.xml", "report.html"):
        text = (run.report_dir / name).read_text(encoding="utf-8")
        assert password not in text, name
        assert lab_password not in text, name
        assert "PRIVATE KEY" not in text, name


def test_html_is_self_contained(nightly: tuple[PlaybookRun, str, str]) -> None:
    run, _before, _after = nightly
    html = (run.report_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", html)
    assert "http://" not in html and "https://" not in html


@pytest.mark.chromium
def test_html_in_headless_chromium(nightly: tuple[PlaybookRun, str, str], tmp_path: Path) -> None:
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (tests/support/ensure-system-deps.sh installs it)")
    run, _before, _after = nightly
    page = (run.report_dir / "report.html").as_uri()
    flags = headless_argv(chromium, tmp_path / "profile")
    dom = subprocess.run([*flags, "--dump-dom", page], capture_output=True, text=True, timeout=90, check=True).stdout

    def count(element_id: str) -> str:
        found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', dom)
        assert found, element_id
        return found.group(1)

    assert count("count-compliant") == "1"
    assert count("count-drifting") == str(len(BROKEN))
    assert count("count-unreachable") == "1"
    assert count("shown-count") == str(len(BROKEN) + 2)  # the script ran and showed every server
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", page], capture_output=True, timeout=90, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
