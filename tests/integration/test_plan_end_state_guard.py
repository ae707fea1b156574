"""A plan whose end state leaves a connector with no certificate is refused whole, before any step runs.

healthy lab, EX02: the internal transport certificate and the Exchange Back End binding were moved to the
renewed certificate, so Exchange's own self-signed certificate looks unused by name, and the task retires it.
But the receive connector ``Client Frontend EX02`` has no TlsCertificateName: Exchange selects its certificate
by the connector's FQDN, ex02.contoso.com, which only the self-signed certificate covers. Removing it would
leave that connector with nothing for STARTTLS (connector_certificate_not_found, event 12014).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lab import state_digest
from tests.support.lab_plays import BACKUP_PASSWORD, COMPLIANCE_TASK, compliance_play
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab
HOST = "EX02"


def _only_the_fqdn_selection_uses_the_self_signed_certificate(host_dir: Path, renewed: str) -> None:
    transport = host_dir / "exchange" / "transport.json"
    settings = json.loads(transport.read_text())
    settings["internal_transport_certificate_thumbprint"] = renewed
    transport.write_text(json.dumps(settings))
    bindings_file = host_dir / "iis" / "bindings.json"
    bindings = json.loads(bindings_file.read_text())
    for binding in bindings:
        binding["thumbprint"] = renewed
    bindings_file.write_text(json.dumps(bindings))


def test_a_retirement_that_would_leave_a_connector_without_a_certificate_changes_nothing(
    lab_factory, tmp_path: Path
) -> None:
    lab = lab_factory("healthy")
    roles = lab.record["hosts"][HOST]["thumbprints"]
    self_signed, host_dir = roles["self_signed"], lab.host_dir(HOST)
    _only_the_fqdn_selection_uses_the_self_signed_certificate(host_dir, roles["intended"])
    before = state_digest(lab.dir)
    # Its key is not exportable (Exchange makes it so): only a certificate-only backup can be taken.
    backup = {"local_directory": str(tmp_path / "backups"), "password": BACKUP_PASSWORD, "certificate_only": True}
    play = compliance_play(tmp_path / "backups", retire=[self_signed], backup=backup)

    for mode, check in (("check", True), ("apply", False)):
        run = run_playbook(play, lab.inventory_path, tmp_path / mode, check=check, limit=HOST)
        result = run.results(COMPLIANCE_TASK)[HOST]
        assert run.statuses(COMPLIANCE_TASK)[HOST] == "failed", (mode, [f["message"] for f in result["findings"]])
        assert result["compliant"] is False and result.get("changed") is False, (mode, result)
        assert "applied" not in result, (mode, result)
        message = result["msg"]
        assert "nothing was changed on EX02" in message, message
        assert "plan_breaks_binding: EX02: the plan was refused" in message, message
        assert "receive connector EX02\\Client Frontend EX02 would lose " + self_signed in message, message
        [refused] = [f for f in result["findings"] if f["code"] == "plan_breaks_binding"]
        assert refused["evidence"]["end_state_code"] == "connector_certificate_not_found"
        assert refused["evidence"]["loses"] == [self_signed]
        assert refused["evidence"]["steps"] == [f"backup {self_signed}", f"remove {self_signed}"]
        assert state_digest(lab.dir) == before, mode
    assert (host_dir / "stores" / "My" / f"{self_signed}.cer").exists()
