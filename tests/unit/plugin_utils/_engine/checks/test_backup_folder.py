"""The backup folder check: a plan that backs up into a folder the server's facts make unsafe is emptied."""

from __future__ import annotations

import dataclasses

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.server_folders import (
    FolderFacts,
    ServerFolders,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.diff_view import state_diff
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from tests.support.snapshots import iis_binding, receive_connector, send_connector, tls_name
from tests.unit.scenario_helpers import RECEIVE, SEND, actions, by_code, run, snap, want

EXCHANGE_ON_D = "D:\\Exchange Server\\V15\\"


def _host(pki, folder: str, *, only_intended: bool = False, **facts):
    """The rebranded certificate bound everywhere; the old leaf (option retire) and expired copy in My."""
    new = tls_name(pki.rebranded)
    host = snap(
        pki,
        my=(pki.rebranded,) if only_intended else (pki.rebranded, pki.leaf, pki.expired),
        services={pki.rebranded.thumbprint: ["IIS", "SMTP"]},
        internal_transport=pki.rebranded.thumbprint,
        send_connectors=[send_connector(SEND, new)],
        receive_connectors=[receive_connector(RECEIVE, new)],
        hybrid=new,
        iis_bindings=[iis_binding(pki.rebranded.thumbprint)],
    )
    backup = FolderFacts(folder, **facts) if facts else FolderFacts(folder, exists=False)
    folders = ServerFolders("C:\\Windows", "C:\\Program Files", "C:\\Program Files (x86)", EXCHANGE_ON_D, backup)
    return dataclasses.replace(host, folders=folders)


def _want(pki, folder: str):
    return want(pki.rebranded, retire=(pki.leaf.thumbprint, pki.expired.thumbprint), backup_directory=folder)


def test_a_folder_inside_exchange_on_d_blocks_the_whole_plan(pki):
    folder = "D:\\Exchange Server\\V15\\Backup"
    analysis = run(pki, _host(pki, folder), _want(pki, folder))
    [refused] = by_code(analysis, "backup_folder_refused")
    assert analysis.plan == [] and refused in analysis.blockers
    assert f"option backup.remote_directory: '{folder}' is inside the Exchange install folder" in refused.message
    assert refused.evidence["remote_directory"] == folder


def test_without_removals_the_folder_is_not_judged(pki):
    folder = "D:\\Exchange Server\\V15\\Backup"
    analysis = run(pki, _host(pki, folder, only_intended=True), want(pki.rebranded, backup_directory=folder))
    assert not by_code(analysis, "backup_folder_refused") and analysis.compliant, analysis.codes()


def test_the_first_backup_creates_the_folder_and_the_rest_use_it(pki):
    folder = "C:\\Backups"
    analysis = run(pki, _host(pki, folder), _want(pki, folder))
    backups = [step for step in analysis.plan if step.action == "backup"]
    assert [step.params["folder"] for step in backups] == ["create", "created"]
    assert [action for action, _target in actions(analysis)] == ["backup", "backup", "remove", "remove"]


def test_an_existing_restricted_folder_is_used_with_the_sddl_the_read_saw(pki):
    folder, sddl = "C:\\Backups", "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
    host = _host(pki, folder, exists=True, directory=True, protected=True, owner="S-1-5-32-544", sddl=sddl)
    analysis = run(pki, host, _want(pki, folder))
    backups = [step for step in analysis.plan if step.action == "backup"]
    assert {(step.params["folder"], step.params["folder_sddl"]) for step in backups} == {("existing", sddl)}


def test_the_diff_shows_the_folder_the_apply_creates_and_its_permissions(pki):
    folder = "C:\\Backups"
    host = _host(pki, folder)
    diff = state_diff(host, apply_plan(host, run(pki, host, _want(pki, folder)).plan), "EX01")
    assert "Backup folder C:\\Backups: absent" in diff["before"]
    assert "Backup folder C:\\Backups: folder, inheritance disabled" in diff["after"]
    assert "  allow S-1-5-18 (SYSTEM) FullControl" in diff["after"]
    assert "  allow S-1-5-32-544 (Administrators) FullControl" in diff["after"]
