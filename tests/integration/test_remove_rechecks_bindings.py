"""The remove step re-checks on the server, at the moment of removal, that nothing binds the certificate.

An administrator binds the duplicate the plan removes after the controller's read
and before its apply (the lab fault ``bind_before_apply``): the step is refused
with the binding named, the certificate stays, nothing points at a missing
certificate, and the run does not report compliant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.observer import read_observations
from tests.lab.state import write_json
from tests.support.lab_plays import COMPLIANCE_TASK, compliance_play
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab
HOST = "EX02"  # duplicate-no-key: the plan backs up and removes the keyless duplicate

BOUND_AS = {
    "iis_binding": "iis_binding Default Web Site *:8443:",
    "exchange_services": "exchange_services IMAP",
    "internal_transport": "internal_transport",
    "http_sys_binding": "http_sys_binding 0.0.0.0:5986",
}


@pytest.mark.parametrize("kind", sorted(BOUND_AS))
def test_a_certificate_bound_after_the_read_is_not_removed(kind: str, lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    play = compliance_play(tmp_path / "backups")
    check = run_playbook(play, lab.inventory_path, tmp_path / "check", check=True, limit=HOST)
    [remove] = [s for s in check.results(COMPLIANCE_TASK)[HOST]["plan"] if s["action"] == "remove"]
    duplicate = remove["params"]["thumbprint"]
    fault = {"bind_before_apply": {"kind": kind, "thumbprint": duplicate}, "operation": "apply", "once": True}
    write_json(lab.host_dir(HOST) / "faults.json", fault)

    apply = run_playbook(play, lab.inventory_path, tmp_path / "apply", limit=HOST)
    result = apply.results(COMPLIANCE_TASK)[HOST]
    assert apply.statuses(COMPLIANCE_TASK)[HOST] == "failed", result
    assert result["compliant"] is not True
    assert f"not removing {duplicate} from LocalMachine\\My: it is bound now ({BOUND_AS[kind]}" in result["msg"]
    [step] = [s for s in result["applied"] if s["action"] == "remove"]
    assert step["status"] == "failed"
    assert (lab.host_dir(HOST) / "stores" / "My" / f"{duplicate}.cer").exists(), "the bound certificate was removed"
    assert all(not o["dangling"] for o in read_observations(lab.host_dir(HOST)))
