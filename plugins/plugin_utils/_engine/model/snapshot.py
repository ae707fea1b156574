"""The parsed, immutable view of one host's ``read`` result (docs/agent-protocol.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import SnapshotError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.host_parts import (
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
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.read_result import (
    STORE_NAMES,
    parse_read_result,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.server_folders import ServerFolders
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot_output import (
    snapshot_facts,
    snapshot_read_result,
)

__all__ = [
    "STORE_NAMES",
    "Connector",
    "ConnectorKind",
    "ExchangeCertificate",
    "ExchangeState",
    "HostInfo",
    "HttpSysBinding",
    "HybridConfiguration",
    "IisBinding",
    "Snapshot",
    "SnapshotError",
    "StoredCertificate",
    "TransportService",
]


@dataclass(frozen=True)
class Snapshot:
    host: HostInfo
    stores: Mapping[str, tuple[StoredCertificate, ...]]
    exchange: ExchangeState | None
    iis_bindings: tuple[IisBinding, ...]
    # The server's system folders and the backup folder's facts (None: the read did not report them).
    folders: ServerFolders | None = None
    # http.sys SSL bindings no IIS site owns (read through IIS; empty where IIS is not installed).
    http_sys_bindings: tuple[HttpSysBinding, ...] = ()

    @classmethod
    def from_read_result(cls, result: dict) -> Snapshot:
        return cls(*parse_read_result(result))

    def store(self, name: str) -> tuple[StoredCertificate, ...]:
        return self.stores.get(name, ())

    def store_named(self, name: str | None) -> str | None:
        """The read store a binding's store name means, or None when the read does not hold it.

        Windows compares store names case-insensitively (http.sys keeps the personal store as "MY");
        no name is the personal store.
        """
        wanted = (name or "My").casefold()
        return next((store for store in self.stores if store.casefold() == wanted), None)

    def find(self, thumbprint: str, store: str = "My") -> StoredCertificate | None:
        for item in self.store(store):
            if item.thumbprint == thumbprint:
                return item
        return None

    def with_changes(self, **changes: Any) -> Snapshot:
        return replace(self, **changes)

    def to_facts(self, now: dt.datetime, *, include_der: bool = False) -> dict:
        """The stable JSON shape ``cert_facts`` returns (documented in docs/engine.md); validity judged at ``now``."""
        return snapshot_facts(self, now, include_der=include_der)

    def to_read_result(self) -> dict:
        """Back to the agent's ``read`` shape (for simulated hosts and round-trip tests)."""
        return snapshot_read_result(self)
