"""Shared builders for the engine tests: real certificates, the agent's read shape."""

from __future__ import annotations

import base64
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import Analysis, analyse
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import parse_certificate
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from tests.support.pki import Issued, TestPki
from tests.support.snapshots import host_snapshot, iis_binding, receive_connector, send_connector, tls_name

SEND = "Outbound to Office 365"
RECEIVE = "Default Frontend EX01"


def snap(pki: TestPki, **kw: Any) -> Snapshot:
    kw.setdefault("ca", pki.chain)
    kw.setdefault("root", (pki.root,))
    return Snapshot.from_read_result(host_snapshot(time_utc=pki.now, **kw))


def bound_to(pki: TestPki, cert: Issued, *, my: tuple[Issued, ...] | None = None, **kw: Any) -> Snapshot:
    """A host where ``cert`` is fully bound: SMTP+IIS, internal transport, connectors, hybrid, IIS."""
    name = tls_name(cert)
    kw.setdefault("services", {cert.thumbprint: ["IIS", "SMTP"]})
    kw.setdefault("internal_transport", cert.thumbprint)
    return snap(
        pki,
        my=my if my is not None else (cert,),
        send_connectors=[send_connector(SEND, name)],
        receive_connectors=[receive_connector("Default Frontend EX01", name)],
        hybrid=name,
        iis_bindings=[iis_binding(cert.thumbprint)],
        **kw,
    )


def want(cert: Issued | None = None, **kw: Any) -> DesiredState:
    kw.setdefault("services", ("IIS", "SMTP"))
    kw.setdefault("send_connectors", (SEND,))
    kw.setdefault("receive_connectors", (RECEIVE,))
    kw.setdefault("hybrid_configuration", True)
    kw.setdefault("iis_bindings", ("Default Web Site:443",))
    kw.setdefault("server_fqdn_names", ("mail.contoso.com",))
    kw.setdefault("backup_password", "backup-Secret-1")  # a copy with a key is removed only with a PFX backup
    return DesiredState(thumbprint=cert.thumbprint if cert is not None else None, **kw)


def with_pfx(cert: Issued, **kw: Any) -> DesiredState:
    pfx = cert.pfx(b"s3cret-pfx")
    return want(
        None,
        pfx_certificate=parse_certificate(cert.der),
        pfx_b64=base64.b64encode(pfx).decode("ascii"),
        pfx_password="s3cret-pfx",
        **kw,
    )


def run(pki: TestPki, snapshot: Snapshot, desired: DesiredState | None, **kw: Any) -> Analysis:
    return analyse(snapshot, desired, pki.now, **kw)


def by_code(analysis: Analysis, code: str) -> list:
    return [f for f in analysis.findings if f.code == code]


def actions(analysis: Analysis) -> list[tuple[str, str | None]]:
    return [(s.action, s.params.get("thumbprint") or s.params.get("identity")) for s in analysis.plan]
