"""The parsed, immutable view of one host's ``read`` result (docs/agent-protocol.md)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import SnapshotError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    Certificate,
    parse_der,
    thumbprint_of,
)

__all__ = ["STORE_NAMES", "Snapshot", "SnapshotError", "StoredCertificate"]

STORE_NAMES = ("My", "CA", "Root", "AuthRoot")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class HostInfo:
    computer_name: str
    fqdn: str
    time_utc: dt.datetime | None
    os: str


@dataclass(frozen=True)
class StoredCertificate:
    """A certificate as it sits in one store of the host, with the host's own strings."""

    store: str
    certificate: Certificate
    subject_str: str
    issuer_str: str
    has_private_key: bool
    private_key_exportable: bool | None
    friendly_name: str = ""

    @property
    def thumbprint(self) -> str:
        return self.certificate.thumbprint

    @property
    def tls_certificate_name(self) -> str:
        return f"<I>{self.issuer_str}<S>{self.subject_str}"


@dataclass(frozen=True)
class ExchangeCertificate:
    thumbprint: str
    services: tuple[str, ...]
    status: str
    root_ca_type: str


@dataclass(frozen=True)
class Connector:
    """A send or receive connector; ``raw`` keeps the fields the engine does not interpret."""

    kind: str  # "send" | "receive"
    identity: str
    name: str
    fqdn: str | None
    tls_certificate_name: str | None
    enabled: bool
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False)
    # Send connectors: the servers that send through it (they all present its certificate).
    source_transport_servers: tuple[str, ...] = ()
    # Receive connectors: the server it belongs to.
    server: str | None = None

    def matches(self, wanted: str) -> bool:
        """A user's connector reference: identity or bare name, case-insensitive."""
        folded = wanted.strip().casefold()
        return folded in (self.identity.casefold(), self.name.casefold())


@dataclass(frozen=True)
class HybridConfiguration:
    tls_certificate_name: str | None
    sending_transport_servers: tuple[str, ...] = ()
    receiving_transport_servers: tuple[str, ...] = ()
    edge_transport_servers: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransportService:
    internal_transport_certificate_thumbprint: str | None
    send_protocol_log_path: str | None = None
    receive_protocol_log_path: str | None = None


@dataclass(frozen=True)
class ExchangeState:
    server: str
    version: str
    certificates: Mapping[str, ExchangeCertificate]
    send_connectors: tuple[Connector, ...]
    receive_connectors: tuple[Connector, ...]
    hybrid_configuration: HybridConfiguration | None
    transport_service: TransportService | None

    @property
    def connectors(self) -> tuple[Connector, ...]:
        return self.send_connectors + self.receive_connectors

    def services_of(self, thumbprint: str) -> tuple[str, ...]:
        entry = self.certificates.get(thumbprint)
        return entry.services if entry is not None else ()

    def status_of(self, thumbprint: str) -> str | None:
        entry = self.certificates.get(thumbprint)
        return entry.status if entry is not None else None

    @property
    def internal_transport_thumbprint(self) -> str | None:
        ts = self.transport_service
        return ts.internal_transport_certificate_thumbprint if ts is not None else None


@dataclass(frozen=True)
class IisBinding:
    site: str
    binding: str
    port: int
    host_header: str
    thumbprint: str | None
    store: str = "My"

    @property
    def reference(self) -> str:
        return f"{self.site}:{self.port}"


# -- parsing helpers: every error names the field --------------------------------


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


def _parse_connector(entry: Any, kind: str, index: int) -> Connector:
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
        source_transport_servers=_str_list(entry, "source_transport_servers", where) if kind == "send" else (),
        server=(_get(entry, "server", where, str, optional=True) or None) if kind == "receive" else None,
    )


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
        server=_get(data, "server", where, str, optional=True) or "",
        version=_get(data, "version", where, str, optional=True) or "",
        certificates=MappingProxyType(certificates),
        send_connectors=tuple(
            _parse_connector(c, "send", i)
            for i, c in enumerate(_get(data, "send_connectors", where, list, optional=True) or [])
        ),
        receive_connectors=tuple(
            _parse_connector(c, "receive", i)
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


@dataclass(frozen=True)
class Snapshot:
    host: HostInfo
    stores: Mapping[str, tuple[StoredCertificate, ...]]
    exchange: ExchangeState | None
    iis_bindings: tuple[IisBinding, ...]

    @classmethod
    def from_read_result(cls, result: dict) -> Snapshot:
        if not isinstance(result, Mapping):
            raise SnapshotError("read result must be a JSON object")
        host_raw = _get(result, "host", "result", Mapping)
        host = HostInfo(
            computer_name=_get(host_raw, "computer_name", "host", str),
            fqdn=_get(host_raw, "fqdn", "host", str, optional=True) or _get(host_raw, "computer_name", "host", str),
            time_utc=_parse_time(_get(host_raw, "time_utc", "host", str, optional=True), "host.time_utc"),
            os=_get(host_raw, "os", "host", str, optional=True) or "",
        )
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
        bindings = tuple(
            _parse_binding(b, i)
            for i, b in enumerate(_get(result, "iis_bindings", "result", list, optional=True) or [])
        )
        return cls(
            host=host,
            stores=MappingProxyType(stores),
            exchange=_parse_exchange(result.get("exchange")),
            iis_bindings=bindings,
        )

    # -- lookups ---------------------------------------------------------------
    def store(self, name: str) -> tuple[StoredCertificate, ...]:
        return self.stores.get(name, ())

    def find(self, thumbprint: str, store: str = "My") -> StoredCertificate | None:
        for item in self.store(store):
            if item.thumbprint == thumbprint:
                return item
        return None

    def with_changes(self, **changes: Any) -> Snapshot:
        return replace(self, **changes)

    # -- output ----------------------------------------------------------------
    def _certificate_facts(self, item: StoredCertificate, now: dt.datetime, include_der: bool) -> dict:
        facts = item.certificate.to_dict(now, include_der=include_der)
        facts.update(
            {
                "store": item.store,
                "subject": item.subject_str,
                "issuer": item.issuer_str,
                "has_private_key": item.has_private_key,
                "exportable": item.private_key_exportable,
                "friendly_name": item.friendly_name,
                "tls_certificate_name": item.tls_certificate_name,
            }
        )
        if item.store == "My" and self.exchange is not None:
            entry = self.exchange.certificates.get(item.thumbprint)
            facts["services"] = list(entry.services) if entry else []
            facts["status"] = entry.status if entry else None
            facts["root_ca_type"] = entry.root_ca_type if entry else None
        return facts

    def to_facts(self, now: dt.datetime | None = None, *, include_der: bool = False) -> dict:
        """The stable JSON shape ``cert_facts`` returns (documented in docs/engine.md)."""
        moment = now or self.host.time_utc or dt.datetime.now(dt.UTC)
        facts: dict[str, Any] = {
            "host": {
                "computer_name": self.host.computer_name,
                "fqdn": self.host.fqdn,
                "time_utc": self.host.time_utc.isoformat() if self.host.time_utc else None,
                "os": self.host.os,
            },
            "stores": {
                name: [self._certificate_facts(item, moment, include_der) for item in self.store(name)]
                for name in STORE_NAMES
            },
            "exchange": None,
            "iis_bindings": [_binding_dict(b) for b in self.iis_bindings],
        }
        ex = self.exchange
        if ex is not None:
            facts["exchange"] = {
                "server": ex.server,
                "version": ex.version,
                "send_connectors": [_connector_facts(c) for c in ex.send_connectors],
                "receive_connectors": [_connector_facts(c) for c in ex.receive_connectors],
                "hybrid_configuration": _hybrid_dict(ex.hybrid_configuration),
                "internal_transport_certificate_thumbprint": ex.internal_transport_thumbprint,
            }
        return facts

    def to_read_result(self) -> dict:
        """Back to the agent's ``read`` shape (for simulated hosts and round-trip tests)."""
        stores = {
            name: [
                {
                    "thumbprint": item.thumbprint,
                    "der_b64": base64.b64encode(item.certificate.der).decode("ascii"),
                    "subject": item.subject_str,
                    "issuer": item.issuer_str,
                    "has_private_key": item.has_private_key,
                    "private_key_exportable": item.private_key_exportable,
                    "friendly_name": item.friendly_name,
                }
                for item in self.store(name)
            ]
            for name in STORE_NAMES
        }
        exchange = None
        ex = self.exchange
        if ex is not None:
            exchange = {
                "server": ex.server,
                "version": ex.version,
                "certificates": [
                    {
                        "thumbprint": c.thumbprint,
                        "services": list(c.services),
                        "status": c.status,
                        "root_ca_type": c.root_ca_type,
                    }
                    for c in ex.certificates.values()
                ],
                "send_connectors": [_connector_raw(c) for c in ex.send_connectors],
                "receive_connectors": [_connector_raw(c) for c in ex.receive_connectors],
                "hybrid_configuration": _hybrid_dict(ex.hybrid_configuration),
                "transport_service": None
                if ex.transport_service is None
                else {
                    "internal_transport_certificate_thumbprint": ex.internal_transport_thumbprint,
                    "send_protocol_log_path": ex.transport_service.send_protocol_log_path,
                    "receive_protocol_log_path": ex.transport_service.receive_protocol_log_path,
                },
            }
        return {
            "host": {
                "computer_name": self.host.computer_name,
                "fqdn": self.host.fqdn,
                "time_utc": self.host.time_utc.isoformat() if self.host.time_utc else None,
                "os": self.host.os,
            },
            "stores": stores,
            "exchange": exchange,
            "iis_bindings": [_binding_dict(b) for b in self.iis_bindings],
        }


def _hybrid_dict(h: HybridConfiguration | None) -> dict | None:
    """The hybrid configuration as the agent reports it (the same shape in facts and read results)."""
    if h is None:
        return None
    return {
        "tls_certificate_name": h.tls_certificate_name,
        "sending_transport_servers": list(h.sending_transport_servers),
        "receiving_transport_servers": list(h.receiving_transport_servers),
        "edge_transport_servers": list(h.edge_transport_servers),
    }


def _binding_dict(b: IisBinding) -> dict:
    """An IIS binding as the agent reports it (the same shape in facts and read results)."""
    return {
        "site": b.site,
        "binding": b.binding,
        "port": b.port,
        "host_header": b.host_header,
        "thumbprint": b.thumbprint,
        "store": b.store,
    }


def _connector_facts(c: Connector) -> dict:
    facts: dict[str, Any] = {
        "kind": c.kind,
        "identity": c.identity,
        "name": c.name,
        "fqdn": c.fqdn,
        "tls_certificate_name": c.tls_certificate_name,
        "enabled": c.enabled,
    }
    # Where the connector's certificate is presented: the rollout checks every one of these servers
    # holds the new certificate before it repoints the connector.
    if c.kind == "send":
        facts["source_transport_servers"] = list(c.source_transport_servers)
    else:
        facts["server"] = c.server
    return facts


def _connector_raw(c: Connector) -> dict:
    raw = dict(c.raw)
    raw.update(_connector_facts(c))
    raw.pop("kind", None)
    for key in ("server", "source_transport_servers"):
        if key not in c.raw:  # round-trip what the agent sent, without inventing fields
            raw.pop(key, None)
    return raw
