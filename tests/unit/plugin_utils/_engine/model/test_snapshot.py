from __future__ import annotations

import json

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot, SnapshotError
from tests.support.snapshots import host_snapshot
from tests.unit.scenario_helpers import bound_to


def test_round_trip_and_facts(pki):
    snapshot = bound_to(pki, pki.renewed)
    again = Snapshot.from_read_result(snapshot.to_read_result())
    assert again.to_facts(pki.now) == snapshot.to_facts(pki.now)
    facts = snapshot.to_facts(pki.now)
    json.dumps(facts)
    [mine] = facts["stores"]["My"]
    assert mine["thumbprint"] == pki.renewed.thumbprint and mine["services"] == ["IIS", "SMTP"]
    assert mine["days_to_expiry"] == 395 and mine["has_private_key"] and "der_b64" not in mine
    assert "der_b64" in snapshot.to_facts(pki.now, include_der=True)["stores"]["My"][0]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("host"), "result.host"),
        (lambda r: r["stores"]["My"][0].update(der_b64="!!"), "stores.My[0].der_b64"),
        (lambda r: r["stores"]["My"][0].update(thumbprint="00" * 20), "stores.My[0].thumbprint"),
        (lambda r: r["stores"]["My"][0].update(has_private_key="yes"), "stores.My[0].has_private_key"),
        (lambda r: r["exchange"]["send_connectors"].append({}), "exchange.send_connectors[0].identity"),
        (lambda r: r["iis_bindings"].append({"site": "x"}), "iis_bindings[0].binding"),
    ],
)
def test_malformed_read_results_name_the_field(pki, mutate, field):
    result = host_snapshot(my=(pki.leaf,), time_utc=pki.now)
    mutate(result)
    with pytest.raises(SnapshotError, match=field.replace("[", r"\[").replace("]", r"\]")):
        Snapshot.from_read_result(result)
