"""A removal never destroys a private key unless backup.certificate_only says so.

The backup step writes a PFX only with backup.password and a key the agent reads as exportable
(agent.ps1 Get-KeyExportable); a key it reads as not exportable, or cannot read at all (null),
would be left out of the backup.
"""

from __future__ import annotations

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from tests.support.snapshots import cert_entry, host_snapshot
from tests.unit.scenario_helpers import actions, by_code, run, want


def _host(pki, exportable):
    result = host_snapshot(
        my=(pki.renewed, pki.leaf),
        ca=pki.chain,
        root=(pki.root,),
        time_utc=pki.now,
        services={pki.renewed.thumbprint: ["IIS", "SMTP"]},
        internal_transport=pki.renewed.thumbprint,
    )
    for entry in result["stores"]["My"]:
        if entry["thumbprint"] == pki.leaf.thumbprint:
            entry.update(cert_entry(pki.leaf), private_key_exportable=exportable)
    return Snapshot.from_read_result(result)


@pytest.mark.parametrize(
    ("exportable", "reason"),
    [(False, "private key is not exportable"), (None, "whether its private key is exportable could not be read")],
)
def test_a_key_the_backup_cannot_keep_needs_certificate_only(pki, exportable, reason):
    desired = want(pki.renewed, send_connectors=(), receive_connectors=(), hybrid_configuration=False, iis_bindings=())
    analysis = run(pki, _host(pki, exportable), desired)
    assert ("remove", pki.leaf.thumbprint) not in actions(analysis)
    [duplicate] = by_code(analysis, "duplicate_certificate")
    assert any(reason in r for r in duplicate.evidence["kept_bound"][pki.leaf.thumbprint])
    opted_in = want(
        pki.renewed,
        send_connectors=(),
        receive_connectors=(),
        hybrid_configuration=False,
        iis_bindings=(),
        backup_certificate_only=True,
    )
    assert ("remove", pki.leaf.thumbprint) in actions(run(pki, _host(pki, exportable), opted_in))


def test_an_exportable_key_with_a_backup_password_is_removed(pki):
    desired = want(pki.renewed, send_connectors=(), receive_connectors=(), hybrid_configuration=False, iis_bindings=())
    assert ("remove", pki.leaf.thumbprint) in actions(run(pki, _host(pki, True), desired))
