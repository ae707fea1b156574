"""cert_facts' connector facts: where each connector's certificate is presented."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from tests.support.snapshots import receive_connector, send_connector, tls_name
from tests.unit.scenario_helpers import snap


def test_send_connectors_list_their_source_transport_servers_and_receive_connectors_their_server(pki):
    host = snap(
        pki,
        my=(pki.renewed,),
        send_connectors=[send_connector("Outbound", tls_name(pki.renewed), source_transport_servers=["EX01", "EX02"])],
        receive_connectors=[receive_connector("Default Frontend EX02", server="EX02")],
    )
    facts = host.to_facts(pki.now)["exchange"]
    [send] = facts["send_connectors"]
    [receive] = facts["receive_connectors"]
    assert send["source_transport_servers"] == ["EX01", "EX02"] and "server" not in send
    assert receive["server"] == "EX02" and "source_transport_servers" not in receive


def test_a_send_connector_read_without_source_transport_servers_lists_none(pki):
    raw = send_connector("Outbound", tls_name(pki.renewed))
    del raw["source_transport_servers"]
    host = snap(pki, my=(pki.renewed,), send_connectors=[raw])
    assert host.to_facts(pki.now)["exchange"]["send_connectors"][0]["source_transport_servers"] == []
    # The read result round-trips without inventing the field.
    again = host.to_read_result()["exchange"]["send_connectors"][0]
    assert "source_transport_servers" not in again
    assert Snapshot.from_read_result(host.to_read_result()).exchange == host.exchange
