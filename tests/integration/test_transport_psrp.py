"""PowerShell remoting (``ansible_connection: psrp``) against the lab: pypsrp on the client, psrpcore in the lab.

The runspace pool, pipelines, input objects and the output and error streams are
exercised with pypsrp directly; the agent's read and apply through ansible with
the psrp connection are in test_transports.py (group ``transport_psrp``); here
the same host state read through both connections must give the same facts.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import winrm.exceptions
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from tests.lab import LabHandle
from tests.lab.client import LabClient
from tests.support.playbook import run_playbook
from tests.support.transport_lab import controller_env, log_entries

pytestmark = [pytest.mark.lab]
FACTS_TASK = "facts"


def _wsman(lab: LabHandle, host: str) -> WSMan:
    info = lab.host_info(host)
    return WSMan(
        "127.0.0.1",
        port=info["port"],
        ssl=False,
        username=info["auth"]["user"],
        password=info["auth"]["password"],
        auth="negotiate",
    )


def test_a_runspace_pool_runs_pipelines_with_output_errors_and_input(transport_lab: LabHandle) -> None:
    with _wsman(transport_lab, "via-psrp") as wsman, RunspacePool(wsman) as pool:
        hostname = PowerShell(pool)
        hostname.add_script("hostname")
        assert hostname.invoke() == [transport_lab.host_info("via-psrp")["computer_name"]]
        assert not hostname.had_errors

        unknown = PowerShell(pool)
        unknown.add_script("Get-NoSuchThing")
        assert unknown.invoke() == []
        # CommandNotFound is not terminating: the pipeline completes, the record is on the error stream
        assert not unknown.had_errors and "Get-NoSuchThing" in str(unknown.streams.error[0])

        # The agent's bootstrap with its stdin as input objects, one byte[] per line (what ansible's psrp sends).
        from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import BOOTSTRAP
        from tests.lab.client import TEST_AGENT, agent_stdin

        bootstrap = PowerShell(pool)
        bootstrap.add_script(BOOTSTRAP + "\nexit $LASTEXITCODE")
        request = {"agent_version": "1", "operation": "read", "options": {}}
        output = bootstrap.invoke(input=agent_stdin(request, TEST_AGENT).splitlines())
        assert output[0] == "<<<CERTWARDEN-BEGIN>>>" and output[-1] == "<<<CERTWARDEN-END>>>", output[:3]
    pipelines = [e for e in log_entries(transport_lab, "via-psrp") if e["action"] == "command" and e.get("psrp")]
    assert len(pipelines) >= 3 and {e["mechanism"] for e in pipelines} == {"ntlm"}


def test_a_psrp_only_host_refuses_a_winrs_shell(transport_lab: LabHandle) -> None:
    with pytest.raises(winrm.exceptions.WSManFaultError, match="resource URI"):
        LabClient(transport_lab, "via-psrp", transport="ntlm").run("hostname")


def _facts(run: Any, host: str) -> dict[str, Any]:
    facts = copy.deepcopy(run.results(FACTS_TASK)[host]["ansible_facts"]["certwarden_exchange"])
    facts["host"].pop("time_utc")  # the server's clock at the read: the only thing two reads may differ in
    return facts


def test_psrp_and_winrm_read_the_same_facts_from_the_same_host(transport_lab: LabHandle, tmp_path: Path) -> None:
    play = [
        {
            "name": "facts",
            "hosts": "via-ntlm",  # serves both the WinRS cmd shell and PSRP
            "gather_facts": False,
            "tasks": [{"name": FACTS_TASK, "certwarden.exchange.cert_facts": {}}],
        }
    ]
    env = controller_env(transport_lab)
    winrm_run = run_playbook(play, transport_lab.inventory_path, tmp_path / "winrm", env=env)
    psrp_vars = {"ansible_connection": "psrp", "ansible_psrp_protocol": "http", "ansible_psrp_auth": "negotiate"}
    psrp_run = run_playbook(play, transport_lab.inventory_path, tmp_path / "psrp", env=env, extra_vars=psrp_vars)
    assert winrm_run.rc == 0, winrm_run.output[-3000:]
    assert psrp_run.rc == 0, psrp_run.output[-3000:]
    assert _facts(psrp_run, "via-ntlm") == _facts(winrm_run, "via-ntlm")
    commands = [e for e in log_entries(transport_lab, "via-ntlm") if e["action"] == "command" and e["kind"] == "read"]
    assert {bool(e.get("psrp")) for e in commands} == {True, False}
