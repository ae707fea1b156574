"""How the agent gets the Exchange cmdlets, against the lab's model of a real server (docs/windows.md)."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs import log_pages
from tests.lab.agent import StepHooks, run_request
from tests.lab.client import LabClient
from tests.lab.state import HostState


def set_host(lab, name: str, **changes: Any) -> None:
    """Edit host.json; the lab reads it on every request."""
    path = lab.host_dir(name) / "host.json"
    info = json.loads(path.read_text())
    info.update(changes)
    path.write_text(json.dumps(info))


def loads_logged(lab, name: str) -> list[dict[str, Any]]:
    lines = (lab.host_dir(name) / "requests.log").read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if entry["action"] == "exchange_load"]


@pytest.fixture
def lab(lab_factory):
    return lab_factory("healthy", hosts=1)


def test_the_connections_account_loads_exchange_through_the_local_endpoint_and_the_load_is_logged(lab) -> None:
    name = lab.hosts[0]
    document = LabClient(lab, name).call("read")
    load = document["result"]["exchange_load"]
    assert (load["installed"], load["role"], load["method"]) == (True, "Mailbox", "remote_credential")
    assert load["cause"] is None
    assert all(load["cmdlets"].values())
    assert document["result"]["exchange"]["role"] == "Mailbox"
    (logged,) = loads_logged(lab, name)
    assert (logged["kind"], logged["method"], logged["ok"]) == ("read", "remote_credential", True)
    assert logged["cause"] is None


def _read_directly(lab, *, delegates: bool) -> tuple[dict[str, Any], list[Any]]:
    """One read through the lab's agent handling, as the endpoint runs it, for a delegating logon or not."""
    host = HostState(lab.host_dir(lab.hosts[0]))
    request = json.dumps({"agent_version": "1", "operation": "read", "options": {"exchange_credential": None}})
    loads: list[Any] = []
    hooks = StepHooks(on_exchange_load=loads.append, logon_can_delegate=delegates)
    return run_request(host, "1", request, hooks), loads


def test_without_a_credential_a_logon_that_cannot_delegate_fails_naming_the_double_hop(lab) -> None:
    """NTLM, or Kerberos without delegation: Windows' 0x8009030e from the inner Kerberos session."""
    response, (load,) = _read_directly(lab, delegates=False)
    assert response["ok"] is False
    assert response["error"]["category"] == "exchange_unavailable"
    assert "Exchange is installed" in response["error"]["message"]
    assert "(double_hop)" in response["error"]["message"] and "0x8009030e" in response["error"]["message"]
    assert (load.ok, load.cause) == (False, "double_hop")


def test_a_delegating_logon_needs_no_credential(lab) -> None:
    response, (load,) = _read_directly(lab, delegates=True)
    assert response["ok"], response
    assert response["result"]["exchange_load"]["method"] == load.method == "remote_delegated"


@pytest.mark.parametrize(
    ("shell", "cause"),
    [
        ({"endpoint": "unreachable"}, "endpoint_unreachable"),
        ({"endpoint": "broken"}, "shell_load"),
        ({"rbac_missing": ["Get-ExchangeCertificate"]}, "rbac"),
    ],
)
def test_a_failed_load_names_its_cause_and_is_never_no_exchange(lab, shell: dict, cause: str) -> None:
    name = lab.hosts[0]
    set_host(lab, name, exchange_shell=shell)
    document = LabClient(lab, name).call("read")
    assert document["ok"] is False, document
    assert f"({cause})" in document["error"]["message"]
    assert "not available" not in document["error"]["message"]


def test_a_wrong_explicit_credential_is_access_denied(lab) -> None:
    name = lab.hosts[0]
    document = LabClient(lab, name).call("read", {"exchange_credential": {"user": "nobody", "password": "x"}})
    assert "(access_denied)" in document["error"]["message"]


def test_cmdlets_only_apply_needs_are_reported_missing_without_failing_the_read(lab) -> None:
    name = lab.hosts[0]
    set_host(lab, name, exchange_shell={"rbac_missing": ["Set-HybridConfiguration"]})
    load = LabClient(lab, name).call("read")["result"]["exchange_load"]
    assert load["cmdlets"]["Set-HybridConfiguration"] is False
    assert load["cmdlets"]["Get-HybridConfiguration"] is True


def test_edge_transport_loads_the_snap_in_and_has_no_hybrid_configuration_or_front_end(lab) -> None:
    name = lab.hosts[0]
    set_host(lab, name, exchange_role="Edge")
    result = LabClient(lab, name).call("read")["result"]
    assert result["exchange_load"]["method"] == "snapin"
    assert result["exchange_load"]["cmdlets"]["Get-HybridConfiguration"] is False
    exchange = result["exchange"]
    assert exchange["role"] == "Edge"
    assert exchange["hybrid_configuration"] is None
    assert exchange["transport_service"]["frontend_receive_protocol_log_path"] is None


def test_read_logs_reads_the_front_end_transport_logs_too(lab) -> None:
    name = lab.hosts[0]
    client = LabClient(lab, name)
    transport = client.call("read")["result"]["exchange"]["transport_service"]
    frontend = lab.host_dir(name) / "logs" / "FrontEnd" / "SmtpReceive"
    frontend.mkdir(parents=True, exist_ok=True)
    (frontend / "RECV2026112801-1.log").write_bytes(b"#Software: Microsoft Exchange Server\r\n")
    result = client.call("read_logs", {"paths": None, "since": None, "max_bytes": 1_000_000})["result"]
    names = {Path(f["path"].replace("\\", "/")).parent.as_posix() for f in result["files"]}
    assert transport["frontend_receive_protocol_log_path"].replace("\\", "/") in names


class LabConnection:
    """ansible's Connection.exec_command over the lab client: the real bootstrap, stdin and lab."""

    def __init__(self, client: LabClient) -> None:
        self.client = client

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        output = self.client.powershell(cmd, in_data)
        return output.rc, output.stdout, output.stderr

    def get_option(self, name: str) -> str:
        credential = self.client.exchange_credential
        return {"remote_user": credential["user"], "remote_password": credential["password"]}[name]


def test_logs_are_read_in_pages_oldest_first_within_the_budget(lab, monkeypatch) -> None:
    name = lab.hosts[0]
    folder = lab.host_dir(name) / "logs" / "SmtpReceive"
    folder.mkdir(parents=True, exist_ok=True)
    for age in range(6):
        path = folder / f"RECV202611280{age}-1.log"
        path.write_bytes(bytes([65 + age]) * 1000)
        stamp = time.time() - 3600 * (age + 1)
        os.utime(path, (stamp, stamp))
    monkeypatch.setattr(log_pages, "PAGE_BYTES", 2000)
    logs = log_pages.read_log_pages(LabConnection(LabClient(lab, name)), name, None, None, 4500)
    received = [f for f in logs["files"] if f["name"].startswith("RECV")]
    assert logs["pages"] >= 2
    assert [f["name"] for f in received][-4:] == [f"RECV202611280{age}-1.log" for age in (3, 2, 1, 0)]
    assert sum(len(base64.b64decode(f["content_b64"])) for f in logs["files"]) <= 4500
