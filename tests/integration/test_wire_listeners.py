"""The lab's SMTP and HTTPS listeners present what the simulated services loaded when they last started.

Probed with the real smtp_tls_probe module through ansible-playbook; the
stores are changed with the agent's own steps over WinRM (LabClient).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.lab import LabHandle
from tests.lab.client import LabClient
from tests.support.playbook import run_playbook

PROBES = ("smtp", "https")


def _probe_play(host: str) -> list[dict[str, Any]]:
    common = {
        "host": "127.0.0.1",
        "server_name": "{{ certwarden_probe_server_name }}",
        "expected_thumbprint": "{{ certwarden_intended_thumbprint }}",
        "ca_bundle": "{{ certwarden_probe_ca_bundle }}",
        "timeout": 5,
    }
    return [
        {
            "hosts": host,
            "gather_facts": False,
            "tasks": [
                {
                    "name": "smtp",
                    "certwarden.exchange.smtp_tls_probe": {**common, "port": "{{ certwarden_probe_port }}"},
                },
                {
                    "name": "https",
                    "certwarden.exchange.smtp_tls_probe": {
                        **common,
                        "port": "{{ certwarden_probe_https_port }}",
                        "tls": "https",
                    },
                },
            ],
        }
    ]


def _presented(lab: LabHandle, host: str, workdir: Path) -> dict[str, dict[str, Any]]:
    run = run_playbook(_probe_play(host), lab.inventory_path, workdir)
    assert run.rc == 0, run.output
    return {probe: run.results(probe)[host] for probe in PROBES}


def _codes(result: dict[str, Any]) -> set[str]:
    return {f["code"] for f in result["findings"]}


def _apply(lab: LabHandle, host: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    answer = LabClient(lab, host).call("apply", {"steps": steps})
    assert answer["ok"], answer
    return answer["result"]


@pytest.fixture(scope="module")
def field_lab(module_lab_factory: Any) -> LabHandle:
    return module_lab_factory("field")


def test_each_host_has_its_own_listener_ports_in_the_inventory(field_lab: LabHandle) -> None:
    text = field_lab.inventory_path.read_text()
    ports = set()
    for host in field_lab.hosts:
        info = field_lab.host_info(host)
        assert f"certwarden_probe_port: {info['smtp_port']}" in text
        assert f"certwarden_probe_https_port: {info['https_port']}" in text
        ports |= {info["smtp_port"], info["https_port"], info["port"]}
    assert len(ports) == 3 * len(field_lab.hosts)


def test_healthy_and_broken_hosts_present_what_their_exchange_selects(field_lab: LabHandle, tmp_path: Path) -> None:
    healthy = _presented(field_lab, "healthy", tmp_path / "healthy")
    assert {p: _codes(r) for p, r in healthy.items()} == {"smtp": set(), "https": set()}
    assert all(len(r["chain"]) == 3 for r in healthy.values())  # leaf, issuing CA, policy CA; root not sent
    # The old certificate (with its key) is what Exchange selects when the renewed copy has none.
    keyless = _presented(field_lab, "imported-without-key", tmp_path / "keyless")
    old = field_lab.record["hosts"]["imported-without-key"]["thumbprints"]["old"]
    assert {r["chain"][0]["thumbprint"] for r in keyless.values()} == {old}
    assert all("wrong_certificate_presented" in _codes(r) for r in keyless.values())


def test_a_new_intermediate_is_sent_only_after_each_service_restarts(field_lab: LabHandle, tmp_path: Path) -> None:
    host = "missing-intermediate"
    before = _presented(field_lab, host, tmp_path / "before")
    assert all("incomplete_chain" in _codes(r) for r in before.values()), before
    cert = x509.load_pem_x509_certificate((field_lab.dir / "pki" / "policy_ca.pem").read_bytes())
    thumb = field_lab.record["pki"]["policy_ca"]
    der = base64.b64encode(cert.public_bytes(Encoding.DER)).decode()
    _apply(field_lab, host, [{"id": "s1", "action": "install_intermediate", "thumbprint": thumb, "der_b64": der}])
    stored_only = _presented(field_lab, host, tmp_path / "stored")
    assert all("incomplete_chain" in _codes(r) for r in stored_only.values()), "the chain changed without a restart"

    result = _apply(
        field_lab, host, [{"id": "s1", "action": "restart_service", "service": "MSExchangeFrontEndTransport"}]
    )
    assert result["results"][0]["status"] == "changed"
    smtp_only = _presented(field_lab, host, tmp_path / "smtp")
    assert _codes(smtp_only["smtp"]) == set() and len(smtp_only["smtp"]["chain"]) == 3
    assert "incomplete_chain" in _codes(smtp_only["https"])

    _apply(field_lab, host, [{"id": "s1", "action": "restart_service", "service": "W3SVC"}])
    after = _presented(field_lab, host, tmp_path / "after")
    assert {p: _codes(r) for p, r in after.items()} == {"smtp": set(), "https": set()}


def test_a_new_iis_binding_is_served_only_after_w3svc_restarts(field_lab: LabHandle, tmp_path: Path) -> None:
    host = "expiring"
    intended = field_lab.record["hosts"][host]["intended"]
    assert "wrong_certificate_presented" in _codes(_presented(field_lab, host, tmp_path / "a")["https"])
    _apply(
        field_lab,
        host,
        [
            {
                "id": "s1",
                "action": "set_iis_binding",
                "site": "Default Web Site",
                "binding": "*:443:",
                "thumbprint": intended,
            }
        ],
    )
    assert "wrong_certificate_presented" in _codes(_presented(field_lab, host, tmp_path / "b")["https"])
    _apply(field_lab, host, [{"id": "s1", "action": "restart_service", "service": "W3SVC"}])
    assert _presented(field_lab, host, tmp_path / "c")["https"]["chain"][0]["thumbprint"] == intended


def test_restarting_an_unknown_service_fails_like_restart_service(field_lab: LabHandle) -> None:
    result = _apply(field_lab, "healthy", [{"id": "s1", "action": "restart_service", "service": "Spooler2"}])
    assert result["results"][0]["status"] == "failed"
    assert "Cannot find any service with service name 'Spooler2'" in result["results"][0]["message"]
