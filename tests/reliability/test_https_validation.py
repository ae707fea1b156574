"""WinRM over HTTPS with certificate validation: success, a wrong CA, an expired server certificate.

inventories/example makes HTTPS with validation the default; the lab's inventory
does the same for an HTTPS lab (``ansible_winrm_ca_trust_path: <lab>/ca.pem``).
The two failures must be per host, name the host and say what is wrong with the
certificate, with no traceback; nothing on the server runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lab import LabHandle, start_lab
from tests.lab.tls import write_stranger_ca
from tests.support.playbook import REPO, PlaybookRun, run_playbook

pytestmark = [pytest.mark.lab]
FACTS_TASK = "cert_facts over https"
PLAY = [
    {
        "name": "read over https",
        "hosts": "exchange",
        "gather_facts": False,
        "tasks": [{"name": FACTS_TASK, "certwarden.exchange.cert_facts": {}}],
    }
]


@pytest.fixture(scope="module")
def https_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    lab = start_lab(tmp_path_factory.mktemp("https") / "lab", "fleet", hosts=2, https=True)
    yield lab
    lab.stop()


def _hosts(inventory: Path) -> dict[str, dict[str, Any]]:
    return yaml.safe_load(inventory.read_text(encoding="utf-8"))["all"]["children"]["exchange"]["hosts"]


def _commands(lab: LabHandle, host: str) -> int:
    log = lab.host_dir(host) / "requests.log"
    if not log.exists():
        return 0
    return sum(json.loads(line)["action"] == "command" for line in log.read_text(encoding="ascii").splitlines())


def _assert_refused_per_host(run: PlaybookRun, lab: LabHandle, words: tuple[str, ...]) -> None:
    assert run.rc != 0
    assert "Traceback" not in run.output
    statuses, results = run.statuses(FACTS_TASK), run.results(FACTS_TASK)
    assert set(statuses) == set(lab.hosts), run.output[-3000:]
    for host in lab.hosts:
        message = str(results[host].get("msg"))
        assert statuses[host] == "unreachable", (host, statuses[host], message)
        assert host in message and "Traceback" not in message, message
        for word in words:
            assert word in message, (host, word, message)


def test_the_example_inventory_validates_the_winrm_certificate() -> None:
    connection = yaml.safe_load((REPO / "inventories/example/group_vars/exchange/connection.yml").read_text())
    assert connection["ansible_winrm_scheme"] == "https"
    assert connection["ansible_winrm_server_cert_validation"] == "validate"
    assert connection["ansible_winrm_ca_trust_path"]


def test_cert_facts_over_validated_https(https_lab: LabHandle, tmp_path: Path) -> None:
    for host_vars in _hosts(https_lab.inventory_path).values():
        assert host_vars["ansible_winrm_scheme"] == "https"
        assert host_vars["ansible_winrm_server_cert_validation"] == "validate"
    run = run_playbook(PLAY, https_lab.inventory_path, tmp_path)
    assert run.rc == 0, run.output[-3000:]
    results = run.results(FACTS_TASK)
    for host in https_lab.hosts:
        facts = results[host]["ansible_facts"]["certwarden_exchange"]
        assert facts["host"]["computer_name"] == https_lab.host_info(host)["computer_name"]
        assert facts["stores"]["My"], host


def test_a_ca_bundle_that_did_not_sign_the_server_certificate_is_refused(https_lab: LabHandle, tmp_path: Path) -> None:
    stranger = write_stranger_ca(tmp_path / "stranger-ca.pem")
    document = yaml.safe_load(https_lab.inventory_path.read_text(encoding="utf-8"))
    for host_vars in document["all"]["children"]["exchange"]["hosts"].values():
        host_vars["ansible_winrm_ca_trust_path"] = str(stranger)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(document), encoding="utf-8")
    before = {host: _commands(https_lab, host) for host in https_lab.hosts}

    run = run_playbook(PLAY, inventory, tmp_path / "run")

    _assert_refused_per_host(run, https_lab, ("certificate verify failed",))
    assert {host: _commands(https_lab, host) for host in https_lab.hosts} == before  # nothing ran


def test_an_expired_server_certificate_is_refused(tmp_path: Path) -> None:
    lab = start_lab(tmp_path / "lab", "fleet", hosts=2, https=True, https_server_certificate="expired")
    try:
        run = run_playbook(PLAY, lab.inventory_path, tmp_path / "run")
        _assert_refused_per_host(run, lab, ("certificate verify failed", "expired"))
        assert all(_commands(lab, host) == 0 for host in lab.hosts)
    finally:
        lab.stop()
