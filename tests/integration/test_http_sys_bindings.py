"""An http.sys SSL binding outside IIS (a WinRM HTTPS listener) binds the certificate it names.

duplicate-no-key, EX02: the keyless re-issued copy is a duplicate the plan removes. Here a WinRM HTTPS
listener uses it (the lab's ``iis/http_sys.json``: ``0.0.0.0:5986``, store ``MY``), so it is kept and the
finding says why; cert_facts reports the binding.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab import state_digest
from tests.lab.state import write_json
from tests.support.lab_plays import COMPLIANCE_TASK, compliance_play
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab
HOST = "EX02"
FACTS_TASK = "facts"


def test_a_duplicate_a_winrm_https_listener_uses_is_kept(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("duplicate-no-key")
    duplicate = lab.record["hosts"][HOST]["thumbprints"]["keyless_copy"]
    binding = {"endpoint": "0.0.0.0:5986", "thumbprint": duplicate, "store": "MY"}
    write_json(lab.host_dir(HOST) / "iis" / "http_sys.json", [binding])
    before = state_digest(lab.dir)

    play = compliance_play(tmp_path / "backups")
    play[0]["tasks"].insert(0, {"name": FACTS_TASK, "certwarden.exchange.cert_facts": {}})
    run = run_playbook(play, lab.inventory_path, tmp_path / "check", check=True, limit=HOST)
    facts = run.results(FACTS_TASK)[HOST]["ansible_facts"]["certwarden_exchange"]
    assert facts["http_sys_bindings"] == [binding]
    result = run.results(COMPLIANCE_TASK)[HOST]
    assert not [s for s in result["plan"] if s["action"] == "remove"], result["plan"]
    [found] = [f for f in result["findings"] if f["code"] == "duplicate_certificate"]
    assert found["evidence"]["kept_bound"][duplicate] == ["http.sys SSL binding 0.0.0.0:5986 uses it"]
    assert state_digest(lab.dir) == before
