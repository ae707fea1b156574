"""Every way Windows shops connect, end to end: real pywinrm/pypsrp against the lab's real acceptors.

One lab (scenario ``healthy`` plus the transport hosts, a private MIT KDC
included) is shared by the module. Each ``transport_<X>`` group holds hosts that
accept only their own mechanism; the lab's request log records the mechanism,
whether the body was sealed, and whether the logon could delegate.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests_credssp.exceptions
import winrm.exceptions
import yaml

from tests.lab import LabHandle
from tests.lab.client import LabClient
from tests.lab.transports import BY_NAME, TRANSPORT_GROUPS, TRANSPORT_HOSTS
from tests.support.lab_plays import COMPLIANCE_TASK, compliance_play
from tests.support.playbook import REPO, run_playbook
from tests.support.transport_lab import controller_env, log_entries, run_ansible

pytestmark = [pytest.mark.lab]
MECHANISMS = ("basic", "ntlm", "kerberos", "credssp")
# How each client library reports a 401 whose offers do not include its scheme, or that refuses its token.
# (requests_ntlm raises PermissionError when the 401 to its NEGOTIATE message carries no challenge.)
REFUSED = (
    winrm.exceptions.InvalidCredentialsError,
    requests_credssp.exceptions.AuthenticationException,
    PermissionError,
)


@pytest.mark.parametrize(
    "group",
    list(TRANSPORT_GROUPS),
)
def test_cert_facts_succeeds_for_every_transport_group(group: str, transport_lab: LabHandle) -> None:
    completed = run_ansible(transport_lab, group, "certwarden.exchange.cert_facts")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    members = [h for h in TRANSPORT_HOSTS if group in h.groups]
    assert members
    for host in members:
        assert f"{host.name} | SUCCESS" in completed.stdout, completed.stdout[-3000:]
        commands = [e for e in log_entries(transport_lab, host.name) if e["action"] == "command"]
        assert commands, host.name
        assert {e["mechanism"] for e in commands} == {host.mechanisms[0]}, host.name
        sealed = host.scheme == "http" and host.mechanisms[0] != "basic"
        assert {e["encrypted"] for e in commands} == {sealed}, host.name


def _attempt(lab: LabHandle, host: str, mechanism: str) -> None:
    options: dict[str, Any] = {}
    username = None
    if mechanism == "kerberos":
        options["kerberos_hostname_override"] = lab.host_info("via-kerberos")["fqdn"]
        username = "certwarden@LAB.TEST"
    LabClient(lab, host, transport=mechanism, username=username, **options).run("hostname")


@pytest.fixture
def kerberos_ticket(transport_lab: LabHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A TGT for the lab user in a private credential cache (pywinrm's kerberos transport uses the cache)."""
    cache = f"FILE:{tmp_path / 'ccache'}"
    env = {**os.environ, **controller_env(transport_lab), "KRB5CCNAME": cache}
    info = transport_lab.host_info("via-kerberos")
    subprocess.run(
        ["kinit", "-f", f"{info['auth']['user']}@LAB.TEST"],  # forwardable: the delegated host may get it
        input=info["auth"]["password"] + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    monkeypatch.setenv("KRB5_CONFIG", env["KRB5_CONFIG"])
    monkeypatch.setenv("KRB5CCNAME", cache)


@pytest.mark.parametrize("host", [h.name for h in TRANSPORT_HOSTS])
def test_a_host_accepts_only_its_own_mechanism(host: str, transport_lab: LabHandle, kerberos_ticket: None) -> None:
    own = BY_NAME[host].mechanisms
    if BY_NAME[host].connection == "winrm":  # a PSRP-only host's WinRS refusal: test_transport_psrp.py
        _attempt(transport_lab, host, own[0])
    for mechanism in MECHANISMS:
        if mechanism in own:
            continue
        before = len(log_entries(transport_lab, host))
        with pytest.raises(REFUSED):
            _attempt(transport_lab, host, mechanism)
        refused = [e for e in log_entries(transport_lab, host)[before:] if e["action"] == "unauthorized"]
        # "none": the client's first, unauthenticated request; a client whose scheme is not offered stops there
        assert refused and {e["mechanism"] for e in refused} <= {mechanism, "none"}, (host, mechanism, refused)
        assert not [e for e in log_entries(transport_lab, host)[before:] if e["action"] == "create"]


def test_the_lab_records_whether_each_logon_can_delegate(transport_lab: LabHandle, kerberos_ticket: None) -> None:
    expected = {
        "via-basic": True,  # the server holds the password
        "via-ntlm": False,
        "via-kerberos": False,  # a service ticket only
        "via-kerberos-delegated": True,  # a forwarded TGT
        "via-credssp": True,  # TSCredentials: the password, delegated
    }
    for host, can_delegate in expected.items():
        options: dict[str, Any] = {}
        username = None
        if BY_NAME[host].mechanisms[0] == "kerberos":
            options = {
                "kerberos_hostname_override": transport_lab.host_info(host)["fqdn"],
                "kerberos_delegation": host.endswith("-delegated"),
            }
            username = "certwarden@LAB.TEST"
        before = len(log_entries(transport_lab, host))
        LabClient(transport_lab, host, transport=BY_NAME[host].mechanisms[0], username=username, **options).run(
            "hostname"
        )
        entries = [e for e in log_entries(transport_lab, host)[before:] if e["action"] == "command"]
        assert entries and {e["can_delegate"] for e in entries} == {can_delegate}, (host, entries)


@pytest.mark.parametrize("connection", ["winrm", "psrp"])
def test_apply_then_recheck_converges_on_every_transport_host(
    connection: str, transport_lab: LabHandle, tmp_path: Path
) -> None:
    hosts = [h.name for h in TRANSPORT_HOSTS if h.connection == connection]
    play = compliance_play(tmp_path / "backups")
    play[0]["hosts"] = ":".join(hosts)
    env = controller_env(transport_lab)
    apply = run_playbook(play, transport_lab.inventory_path, tmp_path / "apply", env=env)
    assert apply.rc == 0, apply.output[-4000:]
    applied = apply.results(COMPLIANCE_TASK)
    assert set(applied) == set(hosts), applied.keys()
    for host, result in applied.items():
        assert result["changed"] is True and result["compliant"], (host, result.get("findings_after"))
    recheck = run_playbook(play, transport_lab.inventory_path, tmp_path / "recheck", check=True, env=env)
    assert recheck.rc == 0, recheck.output[-4000:]
    for host, result in recheck.results(COMPLIANCE_TASK).items():
        assert result["plan"] == [] and result["changed"] is False, (host, result["findings"])


def test_make_lab_writes_every_transport_group_next_to_exchange(transport_lab: LabHandle) -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    lab_recipe = makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert "--transports" in lab_recipe and "inventories/lab/hosts.yml" in lab_recipe
    children = yaml.safe_load(transport_lab.inventory_path.read_text(encoding="utf-8"))["all"]["children"]
    assert set(children["exchange"]["hosts"]) == {"EX01", "EX02", "EX03"}  # the scenario's hosts, unchanged
    groups = children["transports"]["children"]
    wanted = {"transport_basic", "transport_ntlm", "transport_kerberos", "transport_credssp"}
    assert set(groups) == wanted | {"transport_https", "transport_psrp"}
    assert all(groups[group]["hosts"] for group in groups)


def test_ntlm_over_http_without_message_encryption_is_refused_and_runs_nothing(transport_lab: LabHandle) -> None:
    """The host keeps Windows' AllowUnencrypted = false: ansible's winrm with encryption off cannot run anything."""
    before = len(log_entries(transport_lab, "via-ntlm"))
    completed = run_ansible(
        transport_lab, "via-ntlm", "certwarden.exchange.cert_facts", "-e", "ansible_winrm_message_encryption=never"
    )
    assert completed.returncode != 0
    assert "500" in completed.stdout, completed.stdout[-3000:]
    actions = [e["action"] for e in log_entries(transport_lab, "via-ntlm")[before:]]
    assert "unencrypted_refused" in actions and "command" not in actions, actions
