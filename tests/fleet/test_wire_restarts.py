"""What Exchange Online sees: the nightly probes SMTP and HTTPS, and apply restarts what must restart.

A missing intermediate is presented as an incomplete chain on both protocols; installing it changes the
store, not the wire, until the services restart (restart_services).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fleet.conftest import REPO, LabStarter, PlaybookRun, run_playbook
from tests.lab import LabHandle, state_digest
from tests.support.playbook import run_playbook as run_checked

pytestmark = [pytest.mark.lab]
HOST = "missing-intermediate"


def _probe_codes(run: PlaybookRun, host: str) -> dict[str, set[str]]:
    """Finding codes per probe (SMTP, IIS) of the latest nightly on ``host``."""
    server = run.server(host)
    found: dict[str, set[str]] = {"SMTP": set(), "IIS": set()}
    probes = [check for check in server["checks"] if check["module"] == "smtp_tls_probe"]
    # Each endpoint is probed once per run: the probes' checks and the wire rows are in the same order.
    assert len(probes) == len(server["wire"]), server["checks"]
    for check, row in zip(probes, server["wire"], strict=True):
        found[row["protocol"]] = {f["code"] for f in check["findings"]}
    return found


def _wire(run: PlaybookRun, host: str) -> dict[str, dict[str, Any]]:
    return {row["protocol"]: row for row in run.server(host)["wire"]}


def _nightly(lab: LabHandle, where: Path, host: str = HOST) -> PlaybookRun:
    return run_playbook("compliance.yml", [lab.inventory_path], where, limit=host)


def _remediate(lab: LabHandle, where: Path, restart: str, host: str = HOST) -> PlaybookRun:
    return run_playbook(
        "remediate.yml",
        [lab.inventory_path],
        where,
        extra_vars={"certwarden_restart_services": restart, "certwarden_backup_local_directory": str(where / "bk")},
        limit=host,
    )


def test_missing_intermediate_is_fixed_in_the_store_and_on_the_wire_only_after_a_restart(
    fresh_lab: LabStarter, tmp_path: Path
) -> None:
    lab = fresh_lab("field")
    before = _nightly(lab, tmp_path / "before")
    assert _probe_codes(before, HOST) == {"SMTP": {"incomplete_chain"}, "IIS": {"incomplete_chain"}}
    wire = _wire(before, HOST)
    assert wire["SMTP"]["stored"]["chain"] == wire["SMTP"]["presented"]["chain"]  # the store is incomplete too

    applied = _remediate(lab, tmp_path / "never", "never")
    apply_check = next(c for c in applied.server(HOST)["checks"] if c["task"] == "Apply the desired state")
    assert apply_check["changed"]
    assert "restart_needed" in {f["code"] for f in apply_check["findings"]} or "restart_needed" in {
        f["code"] for f in applied.server(HOST)["findings"]
    }

    pending = _nightly(lab, tmp_path / "pending")
    codes = _probe_codes(pending, HOST)
    assert {"restart_pending", "incomplete_chain"} <= codes["SMTP"] and "restart_pending" in codes["IIS"]
    for row in _wire(pending, HOST).values():
        assert row["agrees"] is False
        assert len(row["stored"]["chain"]) == 2 and len(row["presented"]["chain"]) == 1
    restart = next(f for f in pending.server(HOST)["findings"] if f["code"] == "restart_pending")
    assert restart["fix"] == "restart_service"

    _remediate(lab, tmp_path / "always", "always")
    after = _nightly(lab, tmp_path / "after")
    assert _probe_codes(after, HOST) == {"SMTP": set(), "IIS": set()}
    assert all(row["agrees"] for row in _wire(after, HOST).values())
    assert after.server(HOST)["status"] == "compliant"


def test_when_needed_restarts_the_services_the_change_needs_and_check_mode_only_shows_them(
    fresh_lab: LabStarter, tmp_path: Path
) -> None:
    lab = fresh_lab("missing-intermediate")
    host = "EX02"
    digest = state_digest(lab.dir)
    preview = run_checked(
        REPO / "playbooks" / "remediate.yml",
        lab.inventory_path,
        tmp_path / "check",
        check=True,
        diff=True,
        limit=host,
        extra_vars={"certwarden_restart_services": "when_needed"},
    )
    assert state_digest(lab.dir) == digest  # check mode: nothing changed, nothing restarted
    planned = preview.results("Apply the desired state")[host]
    assert [s["params"]["service"] for s in planned["plan"] if s["action"] == "restart_service"] == [
        "MSExchangeFrontEndTransport",
        "MSExchangeTransport",
        "W3SVC",
    ]
    assert "Services restarted after the change:\n  MSExchangeFrontEndTransport" in planned["diff"]["after"]
    applied = _remediate(lab, tmp_path / "apply", "when_needed", host=host)
    assert applied.returncode == 0, applied.output[-3000:]
    steps = [s for s in applied.server(host)["applied"] if s["action"] == "restart_service"]
    assert [s["status"] for s in steps] == ["changed"] * 3  # each service once, after every other step
    assert applied.server(host)["applied"][-3:] == steps
    after = _nightly(lab, tmp_path / "after", host=host)
    assert _probe_codes(after, host) == {"SMTP": set(), "IIS": set()}
    assert {len(row["presented"]["chain"]) for row in _wire(after, host).values()} == {2}
