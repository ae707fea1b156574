"""What a host would look like after a plan: the agent's step semantics, on a Snapshot.

Used for the ``--diff`` "after" view, by the planner to prove a removal is
safe once the steps before it have run, and by the property tests.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import replace
from types import MappingProxyType

from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    Certificate,
    parse_certificate,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.server_folders import (
    RESTRICTED_SIDS,
    AccessRule,
    FolderFacts,
    ServerFolders,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import (
    ConnectorKind,
    ExchangeCertificate,
    ExchangeState,
    HybridConfiguration,
    Snapshot,
    StoredCertificate,
    TransportService,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step


def _add(snapshot: Snapshot, store: str, item: StoredCertificate) -> Snapshot:
    stores = dict(snapshot.stores)
    existing = [i for i in stores.get(store, ()) if i.thumbprint != item.thumbprint]
    stores[store] = (*existing, item)
    return replace(snapshot, stores=MappingProxyType(stores))


def _public(store: str, cert: Certificate) -> StoredCertificate:
    return StoredCertificate(store, cert, cert.subject_str, cert.issuer_str, False, None, "")


def _from_b64(params: dict) -> Certificate:
    return parse_certificate(base64.b64decode(params["der_b64"]))


def _pfx_leaf(params: dict) -> Certificate:
    password = params.get("password")
    try:
        _key, cert, _extra = pkcs12.load_key_and_certificates(
            base64.b64decode(params["pfx_b64"]), password.encode("utf-8") if password else None
        )
    except ValueError as exc:
        raise InputError(f"step import_pfx: the PFX cannot be opened ({exc})") from None
    if cert is None:
        raise InputError("step import_pfx: the PFX holds no certificate")
    return parse_certificate(cert.public_bytes(Encoding.DER))


def _exchange(snapshot: Snapshot, **changes: object) -> Snapshot:
    if snapshot.exchange is None:
        return snapshot
    return replace(snapshot, exchange=replace(snapshot.exchange, **changes))


def _import_pfx(snapshot: Snapshot, params: dict) -> Snapshot:
    cert = _pfx_leaf(params)
    current = snapshot.find(cert.thumbprint)
    item = StoredCertificate("My", cert, cert.subject_str, cert.issuer_str, True, True, "")
    if current is not None:
        item = replace(current, has_private_key=True, private_key_exportable=True)
    snapshot = _add(snapshot, "My", item)
    ex = snapshot.exchange
    if ex is not None and cert.thumbprint not in ex.certificates:
        certificates = dict(ex.certificates)
        certificates[cert.thumbprint] = ExchangeCertificate(cert.thumbprint, (), "Valid", "ThirdParty")
        snapshot = _exchange(snapshot, certificates=MappingProxyType(certificates))
    return snapshot


def _enable_services(snapshot: Snapshot, params: dict) -> Snapshot:
    ex = snapshot.exchange
    if ex is None:
        return snapshot
    thumbprint = params["thumbprint"]
    certificates = dict(ex.certificates)
    entry = certificates.get(thumbprint) or ExchangeCertificate(thumbprint, (), "Valid", "Unknown")
    services = tuple(sorted(set(entry.services) | set(params["services"])))
    certificates[thumbprint] = replace(entry, services=services)
    changes: dict[str, object] = {"certificates": MappingProxyType(certificates)}
    if "SMTP" in params["services"] and params.get("replace_internal_transport"):
        # Enable-ExchangeCertificate -Services SMTP -Force replaces the internal transport certificate.
        ts = ex.transport_service or TransportService(None)
        changes["transport_service"] = replace(ts, internal_transport_certificate_thumbprint=thumbprint)
    return _exchange(snapshot, **changes)


def _set_connector(snapshot: Snapshot, params: dict) -> Snapshot:
    ex: ExchangeState | None = snapshot.exchange
    if ex is None:
        return snapshot
    attr = "send_connectors" if params["kind"] == ConnectorKind.SEND.value else "receive_connectors"
    connectors = tuple(
        replace(c, tls_certificate_name=params["tls_certificate_name"]) if c.identity == params["identity"] else c
        for c in getattr(ex, attr)
    )
    return _exchange(snapshot, **{attr: connectors})


def _set_hybrid(snapshot: Snapshot, params: dict) -> Snapshot:
    ex = snapshot.exchange
    if ex is None:
        return snapshot
    hybrid = ex.hybrid_configuration or HybridConfiguration(None)
    return _exchange(
        snapshot, hybrid_configuration=replace(hybrid, tls_certificate_name=params["tls_certificate_name"])
    )


def _set_iis_binding(snapshot: Snapshot, params: dict) -> Snapshot:
    bindings = tuple(
        replace(b, thumbprint=params["thumbprint"], store="My")
        if (b.site, b.binding) == (params["site"], params["binding"])
        else b
        for b in snapshot.iis_bindings
    )
    return replace(snapshot, iis_bindings=bindings)


def _remove(snapshot: Snapshot, params: dict) -> Snapshot:
    store, thumbprint = params["store"], params["thumbprint"]
    stores = dict(snapshot.stores)
    stores[store] = tuple(i for i in stores.get(store, ()) if i.thumbprint != thumbprint)
    snapshot = replace(snapshot, stores=MappingProxyType(stores))
    ex = snapshot.exchange
    if store == "My" and ex is not None and thumbprint in ex.certificates:
        certificates = {t: e for t, e in ex.certificates.items() if t != thumbprint}
        snapshot = _exchange(snapshot, certificates=MappingProxyType(certificates))
    return snapshot


def _create_backup_folder(snapshot: Snapshot, params: dict) -> Snapshot:
    """A ``backup`` step with ``folder: create`` leaves the folder the agent makes: inheritance off,
    SYSTEM and Administrators with full control (agent.ps1 ``Set-AdministratorsOnlyAcl``)."""
    if params.get("folder") != "create":
        return snapshot
    created = FolderFacts(
        path=str(params.get("directory") or ""),
        exists=True,
        directory=True,
        protected=True,
        rules=tuple(AccessRule(sid, "FullControl", allow=True, inherited=False) for sid in RESTRICTED_SIDS),
    )
    return replace(snapshot, folders=replace(snapshot.folders or ServerFolders(), backup=created))


def apply_step(snapshot: Snapshot, step: Step) -> Snapshot:
    params = dict(step.params)
    action = step.action
    if action == "install_intermediate":
        return _add(snapshot, "CA", snapshot.find(params["thumbprint"], "CA") or _public("CA", _from_b64(params)))
    if action == "install_root":
        return _add(snapshot, "Root", snapshot.find(params["thumbprint"], "Root") or _public("Root", _from_b64(params)))
    if action == "import_certificate":
        store = params["store"]
        return _add(snapshot, store, snapshot.find(params["thumbprint"], store) or _public(store, _from_b64(params)))
    if action == "import_pfx":
        return _import_pfx(snapshot, params)
    if action == "enable_services":
        return _enable_services(snapshot, params)
    if action == "set_connector":
        return _set_connector(snapshot, params)
    if action == "set_hybrid":
        return _set_hybrid(snapshot, params)
    if action == "set_iis_binding":
        return _set_iis_binding(snapshot, params)
    if action == "backup":
        return _create_backup_folder(snapshot, params)
    if action in ("set_protocol_logging", "restart_service"):
        return snapshot  # no change to what the engine reads
    if action == "remove":
        return _remove(snapshot, params)
    raise InputError(f"step {step.id}: unknown action {action!r}")


def apply_plan(snapshot: Snapshot, plan: Sequence[Step]) -> Snapshot:
    """The snapshot the host would report after every step of ``plan`` succeeded."""
    for step in plan:
        snapshot = apply_step(snapshot, step)
    return snapshot
