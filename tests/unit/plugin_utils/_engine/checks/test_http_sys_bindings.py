"""http.sys SSL bindings outside IIS sites (WinRM over HTTPS, ADFS, ...): they bind a certificate too."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from tests.support.snapshots import host_snapshot
from tests.unit.scenario_helpers import actions, by_code, run, want

GONE = "AB" * 20


def _host(pki, endpoints: dict[str, str], my=None) -> Snapshot:
    result = host_snapshot(
        my=my or (pki.renewed, pki.leaf),
        ca=pki.chain,
        root=(pki.root,),
        time_utc=pki.now,
        services={pki.renewed.thumbprint: ["IIS", "SMTP"]},
        internal_transport=pki.renewed.thumbprint,
    )
    result["http_sys_bindings"] = [{"endpoint": e, "thumbprint": t, "store": "MY"} for e, t in endpoints.items()]
    return Snapshot.from_read_result(result)


def _want(pki):
    return want(pki.renewed, send_connectors=(), receive_connectors=(), hybrid_configuration=False, iis_bindings=())


def test_a_duplicate_the_winrm_https_listener_uses_is_kept_and_explained(pki) -> None:
    analysis = run(pki, _host(pki, {"0.0.0.0:5986": pki.leaf.thumbprint}), _want(pki))
    assert ("remove", pki.leaf.thumbprint) not in actions(analysis)
    [duplicate] = by_code(analysis, "duplicate_certificate")
    assert duplicate.evidence["kept_bound"][pki.leaf.thumbprint] == ["http.sys SSL binding 0.0.0.0:5986 uses it"]
    # Without the binding the same duplicate is removed.
    assert ("remove", pki.leaf.thumbprint) in actions(run(pki, _host(pki, {}), _want(pki)))


def test_an_http_sys_binding_to_a_missing_certificate_is_reported(pki) -> None:
    host = _host(pki, {"adfs.contoso.com:443": GONE}, my=(pki.renewed,))
    for desired in (None, _want(pki)):
        [found] = by_code(run(pki, host, desired), "binding_certificate_missing")
        assert found.evidence["kind"] == "http_sys_binding" and found.evidence["endpoint"] == "adfs.contoso.com:443"
        assert found.fix is None and "not in LocalMachine\\My" in found.message


def test_the_binding_round_trips_through_the_read_shape(pki) -> None:
    host = _host(pki, {"0.0.0.0:5986": pki.leaf.thumbprint})
    assert Snapshot.from_read_result(host.to_read_result()) == host
    assert host.to_facts(pki.now)["http_sys_bindings"] == [
        {"endpoint": "0.0.0.0:5986", "thumbprint": pki.leaf.thumbprint, "store": "MY"}
    ]


def test_a_binding_names_its_store_in_any_case_and_an_unread_store_is_none(pki) -> None:
    host = _host(pki, {})
    assert [host.store_named(name) for name in ("MY", "my", None, "", "root", "WebHosting")] == [
        "My",
        "My",
        "My",
        "My",
        "Root",
        None,
    ]
