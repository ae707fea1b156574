"""The agent's ``read`` result (docs/agent-protocol.md) checked and parsed; every error names its field."""

from __future__ import annotations

import binascii
import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import SnapshotError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    Certificate,
    parse_der,
    thumbprint_of,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.host_parts import (
    ROTATION_ROLES,
    Connector,
    ConnectorKind,
    ExchangeCertificate,
    ExchangeState,
    HostInfo,
    HttpSysBinding,
    HybridConfiguration,
    IisBinding,
    StoredCertificate,
    TransportService,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.server_folders import (
    ServerFolders,
    parse_server_folders,
)

STORE_NAMES = ("My", "CA", "Root", "AuthRoot")


class SnapshotParts(NamedTuple):
    """The fields of a ``Snapshot``, in its field order."""

    host: HostInfo
    stores: Mapping[str, tuple[StoredCertificate, ...]]
    exchange: ExchangeState | None
    iis_bindings: tuple[IisBinding, ...]
    folders: ServerFolders | None
    http_sys_bindings: tuple[HttpSysBinding, ...]


def _get(obj: Mapping, key: str, where: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
    if not isinstance(obj, Mapping):
        raise SnapshotError(f"read result field {where} must be an object")
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise SnapshotError(f"read result field {where}.{key} is missing")
    value = obj[key]
    if kind is bool and not isinstance(value, bool):
        raise SnapshotError(f"read result field {where}.{key} must be true or false, not {value!r}")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise SnapshotError(f"read result field {where}.{key} must be {names}, not {type(value).__name__}")
    return value


def _str_list(obj: Mapping, key: str, where: str) -> tuple[str, ...]:
    value = _get(obj, key, where, list, optional=True) or []
    if not all(isinstance(v, str) for v in value):
        raise SnapshotError(f"read result field {where}.{key} must be a list of strings")
    return tuple(value)


def _parse_time(text: str | None, where: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SnapshotError(f"read result field {where} is not an ISO 8601 time: {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# thumbprint, der_b64, has_private_key, subject, issuer, private_key_exportable, friendly_name
_CertFields = tuple[str, str, bool, str | None, str | None, bool | None, str | None]


def _cert_fields(entry: Any, store: str, index: int) -> _CertFields:
    """The CERT fields, checked: one dict lookup each for well-formed entries, named errors otherwise."""
    if isinstance(entry, dict):
        get = entry.get
        fields = (
            get("thumbprint"),
            get("der_b64"),
            get("has_private_key"),
            get("subject"),
            get("issuer"),
            get("private_key_exportable"),
            get("friendly_name"),
        )
        thumbprint, der_b64, has_key, subject, issuer, exportable, friendly = fields
        if (
            isinstance(thumbprint, str)
            and isinstance(der_b64, str)
            and isinstance(has_key, bool)
            and (subject is None or isinstance(subject, str))
            and (issuer is None or isinstance(issuer, str))
            and (exportable is None or isinstance(exportable, bool))
            and (friendly is None or isinstance(friendly, str))
        ):
            return fields  # type: ignore[return-value]
    # Anything unusual (another Mapping type, a wrong or missing field) takes the checked path,
    # which names the field in its error.
    where = f"stores.{store}[{index}]"
    if not isinstance(entry, Mapping):
        raise SnapshotError(f"read result field {where} must be an object")
    return (
        _get(entry, "thumbprint", where, str),
        _get(entry, "der_b64", where, str),
        _get(entry, "has_private_key", where, bool),
        _get(entry, "subject", where, str, optional=True),
        _get(entry, "issuer", where, str, optional=True),
        _get(entry, "private_key_exportable", where, bool, optional=True),
        _get(entry, "friendly_name", where, str, optional=True),
    )


def _stored(
    store: str,
    certificate: Certificate,
    *,
    subject_str: str,
    issuer_str: str,
    has_private_key: bool,
    private_key_exportable: bool | None,
    friendly_name: str,
) -> StoredCertificate:
    """``StoredCertificate(...)`` for checked values, at half the cost of the frozen dataclass's ``__init__``.

    A host carries thousands of certificates, and the generated ``__init__`` pays one
    ``object.__setattr__`` per field. The instance is the same: same fields, equality, hash and repr.
    """
    item = _new_object(StoredCertificate)
    item.__dict__.update(
        store=store,
        certificate=certificate,
        subject_str=subject_str,
        issuer_str=issuer_str,
        has_private_key=has_private_key,
        private_key_exportable=private_key_exportable,
        friendly_name=friendly_name,
    )
    return item


_new_object = object.__new__


def _parse_or_raise(der: bytes, thumbprint: str, store: str, index: int) -> Certificate:
    try:
        return parse_der(der, thumbprint)
    except ValueError:
        raise SnapshotError(f"read result field stores.{store}[{index}].der_b64 is not a DER certificate") from None


def _parse_cert(entry: Any, store: str, index: int) -> StoredCertificate:
    thumbprint, der_b64, has_key, subject, issuer, exportable, friendly = _cert_fields(entry, store, index)
    try:
        der = binascii.a2b_base64(der_b64, strict_mode=True)
    except (binascii.Error, ValueError):
        raise SnapshotError(f"read result field stores.{store}[{index}].der_b64 is not valid base64") from None
    # Hash once: the same digest checks the agent's thumbprint and keys the parse cache.
    actual = thumbprint_of(der)
    if actual != thumbprint and actual != thumbprint.upper():
        _parse_or_raise(der, actual, store, index)  # say "not a certificate" before "wrong thumbprint"
        raise SnapshotError(
            f"read result field stores.{store}[{index}].thumbprint {thumbprint!r} does not match its der_b64 "
            f"(which hashes to {actual})"
        )
    certificate = _parse_or_raise(der, actual, store, index)
    return _stored(
        store,
        certificate,
        subject_str=subject or certificate.subject_str,
        issuer_str=issuer or certificate.issuer_str,
        has_private_key=has_key,
        private_key_exportable=exportable if has_key else None,
        friendly_name=friendly or "",
    )


def _parse_connector(entry: Any, kind: ConnectorKind, index: int) -> Connector:
    where = f"exchange.{kind}_connectors[{index}]"
    identity = _get(entry, "identity", where, str)
    return Connector(
        kind=kind,
        identity=identity,
        name=_get(entry, "name", where, str, optional=True) or identity.rsplit("\\", 1)[-1],
        fqdn=_get(entry, "fqdn", where, str, optional=True) or None,
        tls_certificate_name=_get(entry, "tls_certificate_name", where, str, optional=True) or None,
        enabled=_get(entry, "enabled", where, bool, optional=True) is not False,
        raw=MappingProxyType(dict(entry)),
        source_transport_servers=_str_list(entry, "source_transport_servers", where)
        if kind is ConnectorKind.SEND
        else (),
        server=(_get(entry, "server", where, str, optional=True) or None) if kind is ConnectorKind.RECEIVE else None,
    )


def _role_thumbprints(raw: Any, at: str) -> tuple[tuple[str, str], ...]:
    values = ((role, _get(raw, role, at, str, optional=True)) for role in ROTATION_ROLES)
    return tuple((role, value.upper()) for role, value in values if value)


def _parse_organisation_bindings(data: Any) -> tuple[tuple[tuple[str, str], ...] | None, ...]:
    """AuthConfig's and the federation trusts' (role, thumbprint) pairs; None for what the read did not see."""
    auth_raw = _get(data, "auth_config", "exchange", Mapping, optional=True)
    auth = None if auth_raw is None else _role_thumbprints(auth_raw, "exchange.auth_config")
    trusts_raw = _get(data, "federation_trusts", "exchange", list, optional=True)
    federation = None
    if trusts_raw is not None:
        federation = tuple(
            pair
            for i, trust in enumerate(trusts_raw)
            for pair in _role_thumbprints(trust, f"exchange.federation_trusts[{i}]")
        )
    return auth, federation


def _parse_exchange(data: Any) -> ExchangeState | None:
    if data is None:
        return None
    where = "exchange"
    certificates: dict[str, ExchangeCertificate] = {}
    for i, entry in enumerate(_get(data, "certificates", where, list, optional=True) or []):
        at = f"exchange.certificates[{i}]"
        thumbprint = _get(entry, "thumbprint", at, str).upper()
        certificates[thumbprint] = ExchangeCertificate(
            thumbprint=thumbprint,
            services=tuple(s for s in _str_list(entry, "services", at) if s != "None"),
            status=_get(entry, "status", at, str, optional=True) or "Unknown",
            root_ca_type=_get(entry, "root_ca_type", at, str, optional=True) or "Unknown",
        )
    hybrid_raw = _get(data, "hybrid_configuration", where, Mapping, optional=True)
    hybrid = None
    if hybrid_raw is not None:
        at = "exchange.hybrid_configuration"
        hybrid = HybridConfiguration(
            tls_certificate_name=_get(hybrid_raw, "tls_certificate_name", at, str, optional=True) or None,
            sending_transport_servers=_str_list(hybrid_raw, "sending_transport_servers", at),
            receiving_transport_servers=_str_list(hybrid_raw, "receiving_transport_servers", at),
            edge_transport_servers=_str_list(hybrid_raw, "edge_transport_servers", at),
        )
    auth, federation = _parse_organisation_bindings(data)
    ts_raw = _get(data, "transport_service", where, Mapping, optional=True)
    transport = None
    if ts_raw is not None:
        at = "exchange.transport_service"
        internal = _get(ts_raw, "internal_transport_certificate_thumbprint", at, str, optional=True)
        transport = TransportService(
            internal_transport_certificate_thumbprint=internal.upper() if internal else None,
            send_protocol_log_path=_get(ts_raw, "send_protocol_log_path", at, str, optional=True),
            receive_protocol_log_path=_get(ts_raw, "receive_protocol_log_path", at, str, optional=True),
        )
    return ExchangeState(
        auth_certificates=auth,
        federation_certificates=federation,
        server=_get(data, "server", where, str, optional=True) or "",
        role=_get(data, "role", where, str, optional=True) or "Mailbox",
        version=_get(data, "version", where, str, optional=True) or "",
        certificates=MappingProxyType(certificates),
        send_connectors=tuple(
            _parse_connector(c, ConnectorKind.SEND, i)
            for i, c in enumerate(_get(data, "send_connectors", where, list, optional=True) or [])
        ),
        receive_connectors=tuple(
            _parse_connector(c, ConnectorKind.RECEIVE, i)
            for i, c in enumerate(_get(data, "receive_connectors", where, list, optional=True) or [])
        ),
        hybrid_configuration=hybrid,
        transport_service=transport,
    )


def _parse_binding(entry: Any, index: int) -> IisBinding:
    where = f"iis_bindings[{index}]"
    thumbprint = _get(entry, "thumbprint", where, str, optional=True)
    return IisBinding(
        site=_get(entry, "site", where, str),
        binding=_get(entry, "binding", where, str),
        port=_get(entry, "port", where, int),
        host_header=_get(entry, "host_header", where, str, optional=True) or "",
        thumbprint=thumbprint.upper() if thumbprint else None,
        store=_get(entry, "store", where, str, optional=True) or "My",
    )


def _parse_http_sys_binding(entry: Any, index: int) -> HttpSysBinding:
    where = f"http_sys_bindings[{index}]"
    return HttpSysBinding(
        endpoint=_get(entry, "endpoint", where, str),
        thumbprint=_get(entry, "thumbprint", where, str).upper(),
        store=_get(entry, "store", where, str, optional=True) or "My",
    )


def _parse_stores(result: Mapping) -> Mapping[str, tuple[StoredCertificate, ...]]:
    stores_raw = _get(result, "stores", "result", Mapping)
    stores: dict[str, tuple[StoredCertificate, ...]] = {}
    for store in STORE_NAMES:
        entries = _get(stores_raw, store, "stores", list, optional=True) or []
        parsed = [_parse_cert(e, store, i) for i, e in enumerate(entries)]
        seen: set[str] = set()
        for item in parsed:
            if item.thumbprint in seen:
                raise SnapshotError(f"read result field stores.{store} lists {item.thumbprint} twice")
            seen.add(item.thumbprint)
        stores[store] = tuple(parsed)
    return MappingProxyType(stores)


def parse_read_result(result: Any) -> SnapshotParts:
    if not isinstance(result, Mapping):
        raise SnapshotError("read result must be a JSON object")
    host_raw = _get(result, "host", "result", Mapping)
    host = HostInfo(
        computer_name=_get(host_raw, "computer_name", "host", str),
        fqdn=_get(host_raw, "fqdn", "host", str, optional=True) or _get(host_raw, "computer_name", "host", str),
        time_utc=_parse_time(_get(host_raw, "time_utc", "host", str, optional=True), "host.time_utc"),
        os=_get(host_raw, "os", "host", str, optional=True) or "",
        os_build=_get(host_raw, "os_build", "host", int, optional=True),
        account_sid=_get(
            _get(host_raw, "logon", "host", Mapping, optional=True) or {}, "user_sid", "host.logon", str, optional=True
        ),
    )
    stores = _parse_stores(result)
    bindings = tuple(
        _parse_binding(b, i) for i, b in enumerate(_get(result, "iis_bindings", "result", list, optional=True) or [])
    )
    return SnapshotParts(
        host=host,
        stores=stores,
        exchange=_parse_exchange(result.get("exchange")),
        iis_bindings=bindings,
        folders=parse_server_folders(result),
        http_sys_bindings=tuple(
            _parse_http_sys_binding(b, i)
            for i, b in enumerate(_get(result, "http_sys_bindings", "result", list, optional=True) or [])
        ),
    )
