"""Per-server checks judge only the connectors a server uses, and judge FQDN-selected ones by what they present.

Two lab scenarios (docs/lab.md): ``not-a-source`` (microsoft/CSS-Exchange issue 1932: a server that is not a
source transport server of the send connector was judged as if it were) and ``fqdn-selected`` (issue 2035: a send
connector without TlsCertificateName was not judged although Exchange then selects a certificate by its FQDN).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab import state_digest
from tests.support.lab_plays import COMPLIANCE_TASK, compliance_play
from tests.support.playbook import run_playbook

pytestmark = [pytest.mark.lab]


def _codes(result: dict) -> set[str]:
    return {f["code"] for f in result["findings"]}


def test_a_server_that_is_not_a_source_is_not_judged_on_the_send_connector(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("not-a-source")
    before = state_digest(lab.dir)
    run = run_playbook(compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "check", check=True)
    assert run.rc == 0, run.output[-3000:]
    results = run.results(COMPLIANCE_TASK)
    # EX02 holds its own certificate, bound to its own receive connector; the send connector and the hybrid
    # configuration name another one that only EX01 and EX03 present. Nothing to fix anywhere, nothing planned.
    for host in lab.hosts:
        assert _codes(results[host]) == set(), (host, results[host]["findings"])
        assert results[host]["plan"] == [], host
    assert state_digest(lab.dir) == before


def test_a_connector_without_a_name_is_judged_by_the_certificate_its_fqdn_selects(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("fqdn-selected")
    play = compliance_play(tmp_path / "backups", send_connectors=[])  # the connector's name is left unset
    run = run_playbook(play, lab.inventory_path, tmp_path / "check", check=True)
    results = run.results(COMPLIANCE_TASK)
    assert _codes(results["EX01"]) == set() and _codes(results["EX03"]) == set()
    staged = lab.record["hosts"]["EX02"]["thumbprints"]["fqdn_selected"]
    found = [f for f in results["EX02"]["findings"] if f["code"] == "service_not_enabled"]
    assert len(found) == 1, results["EX02"]["findings"]
    assert found[0]["evidence"]["identity"] == "Outbound to Office 365"
    assert found[0]["evidence"]["thumbprint"] == staged
    assert "no TlsCertificateName, so Exchange selects by the FQDN mail.contoso.com" in found[0]["message"]
