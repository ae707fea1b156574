"""Decisions that depend on the server itself: Edge Transport, the OS build's PFX support, the internal transport."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.serialization import pkcs12

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.controller_files import load_pfx
from tests.support.snapshots import host_snapshot, iis_binding, send_connector, tls_name
from tests.unit.scenario_helpers import SEND, actions, by_code, run, want

PBES2_OID = bytes.fromhex("06092a864886f70d01050d")


def snapshot(pki, *, role: str = "Mailbox", os_build: int | None = 17763, **kw: Any) -> Snapshot:
    kw.setdefault("ca", pki.chain)
    kw.setdefault("root", (pki.root,))
    raw = host_snapshot(time_utc=pki.now, **kw)
    raw["exchange"]["role"] = role
    raw["host"]["os_build"] = os_build
    return Snapshot.from_read_result(raw)


def test_edge_is_judged_without_hybrid_configuration_or_iis_and_enables_only_smtp(pki) -> None:
    host = snapshot(
        pki,
        role="Edge",
        my=(pki.renewed,),
        services={pki.renewed.thumbprint: []},
        internal_transport=pki.renewed.thumbprint,
        send_connectors=[send_connector(SEND, tls_name(pki.renewed))],
    )
    analysis = run(pki, host, want(pki.renewed, receive_connectors=()))
    assert by_code(analysis, "hybrid_not_found") == [] and by_code(analysis, "iis_binding_not_found") == []
    [enable] = [step for step in analysis.plan if step.action == "enable_services"]
    assert enable.params["services"] == ["SMTP"]


def test_a_mailbox_server_without_hybrid_configuration_is_still_reported(pki) -> None:
    host = snapshot(pki, my=(pki.renewed,), services={pki.renewed.thumbprint: ["IIS", "SMTP"]})
    assert by_code(run(pki, host, want(pki.renewed, receive_connectors=())), "hybrid_not_found")


def _import_step(pki, os_build: int | None) -> bytes:
    """The PFX bytes of the import_pfx step, the desired state built as cert_compliance builds it."""
    loaded = load_pfx(pki.renewed.pfx(b"s3cret-pfx"), "s3cret-pfx", "renewed.pfx")
    desired = want(
        None,
        pfx_certificate=loaded.certificate,
        pfx_b64=loaded.leaf_pfx_b64,
        pfx_legacy_b64=loaded.leaf_pfx_legacy_b64,
        pfx_password="s3cret-pfx",
        receive_connectors=(),
        send_connectors=(),
        hybrid_configuration=False,
    )
    host = snapshot(pki, os_build=os_build, my=(), iis_bindings=[iis_binding(None)])
    [step] = [s for s in run(pki, host, desired).plan if s.action == "import_pfx"]
    data = base64.b64decode(step.params["pfx_b64"])
    key, cert, _extra = pkcs12.load_key_and_certificates(data, b"s3cret-pfx")
    assert key is not None and cert is not None
    return data


def test_the_pfx_sent_is_aes_from_server_2019_and_3des_before(pki) -> None:
    assert PBES2_OID in _import_step(pki, 17763)
    assert PBES2_OID in _import_step(pki, 20348)
    assert PBES2_OID not in _import_step(pki, 14393)  # Windows Server 2016
    assert PBES2_OID not in _import_step(pki, 9600)  # Windows Server 2012 R2


def _lacking_smtp(pki) -> Snapshot:
    return snapshot(
        pki,
        my=(pki.renewed, pki.self_signed),
        services={pki.renewed.thumbprint: ["IIS"], pki.self_signed.thumbprint: ["SMTP"]},
        internal_transport=pki.self_signed.thumbprint,
        iis_bindings=[iis_binding(pki.renewed.thumbprint)],
    )


def test_enabling_smtp_keeps_the_internal_transport_certificate_unless_asked(pki) -> None:
    host = _lacking_smtp(pki)
    analysis = run(pki, host, want(pki.renewed, receive_connectors=(), send_connectors=(), hybrid_configuration=False))
    [enable] = [s for s in analysis.plan if s.action == "enable_services"]
    assert enable.params == {"thumbprint": pki.renewed.thumbprint, "services": ["SMTP"]}
    assert apply_plan(host, analysis.plan).exchange.internal_transport_thumbprint == pki.self_signed.thumbprint


def test_replacing_the_internal_transport_certificate_is_an_explicit_reported_step(pki) -> None:
    host = _lacking_smtp(pki)
    desired = want(
        pki.renewed,
        receive_connectors=(),
        send_connectors=(),
        hybrid_configuration=False,
        replace_internal_transport=True,
    )
    analysis = run(pki, host, desired)
    [enable] = [s for s in analysis.plan if s.action == "enable_services"]
    assert enable.params["replace_internal_transport"] is True
    assert "make it the internal transport certificate" in enable.reason
    assert ("enable_services", pki.renewed.thumbprint) in actions(analysis)
    assert apply_plan(host, analysis.plan).exchange.internal_transport_thumbprint == pki.renewed.thumbprint
