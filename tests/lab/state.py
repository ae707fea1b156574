"""A simulated host's state: a folder of plain files (see docs/lab.md).

Every write is atomic (temp file + ``os.replace``) and organisation files are
changed under one lock per organisation, because every server of an
organisation reads and writes the same connector files, as in Active Directory.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.lab.winnames import map_windows_path, thumbprint, windows_dn

STORES = ("My", "CA", "Root", "AuthRoot")
_ORG_LOCKS: dict[Path, threading.RLock] = {}
_HOST_LOCKS: dict[Path, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(table: dict[Path, threading.RLock], path: Path) -> threading.RLock:
    with _LOCKS_GUARD:
        lock = table.get(path)
        if lock is None:
            lock = table[path] = threading.RLock()
        return lock


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json(path: Path, value: Any) -> None:
    # ensure_ascii keeps names with odd characters (even lone surrogates from
    # non-UTF-8 input) representable byte for byte.
    write_bytes_atomic(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("ascii"))


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return default


@dataclass(frozen=True)
class StoredCert:
    """One certificate in one store of the simulated machine."""

    store: str
    thumbprint: str
    cert: x509.Certificate
    der: bytes
    has_private_key: bool
    exportable: bool
    friendly_name: str
    cer_path: Path

    @property
    def key_path(self) -> Path:
        return self.cer_path.with_suffix(".key")

    @cached_property
    def subject_dn(self) -> str:
        return windows_dn(self.cert.subject)

    @cached_property
    def issuer_dn(self) -> str:
        return windows_dn(self.cert.issuer)


FileStamp = tuple[int, int, int] | None
T = TypeVar("T")


def _stamp(path: Path) -> FileStamp:
    """What changes whenever the file does: every lab write replaces a file (a new inode)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def _reuse(table: dict[Path, tuple[Any, Any]], key: Path, stamp: object, load: Callable[[], T]) -> T:
    """What ``table`` holds for ``key`` if it was read at ``stamp``; otherwise ``load()``, kept for next time."""
    cached = table.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    value = load()
    table[key] = (stamp, value)
    return value


# Parsed organisation files by path. In a fleet every server's read parses the same
# organisation-wide connector lists; sharing the parsed value keeps a read's cost flat as the
# fleet grows. Callers must not change it.
_SHARED_JSON: dict[Path, tuple[FileStamp, Any]] = {}
# Parsed certificates by .cer path, with the stamps of the .cer, .key and .json they were read
# from: the cache only saves re-parsing the same DER on every read of a busy fleet.
_PARSED_CERTS: dict[Path, tuple[tuple[FileStamp, FileStamp, FileStamp], StoredCert]] = {}


def read_json_shared(path: Path, default: Any = None) -> Any:
    """:func:`read_json` for readers only: the same parsed object while the file is unchanged."""
    stamp = _stamp(path)
    if stamp is None:
        return default
    return _reuse(_SHARED_JSON, path, stamp, lambda: read_json(path, default))


class HostState:
    """Reads and writes one host folder; organisation files live under ``<lab>/orgs/<org>``."""

    def __init__(self, host_dir: Path) -> None:
        self.dir = host_dir
        self.info: dict[str, Any] = read_json(host_dir / "host.json")
        self.lab_dir = host_dir.parent.parent
        self.org_dir = self.lab_dir / "orgs" / self.info["org"]
        self.lock = _lock_for(_HOST_LOCKS, host_dir.resolve())
        self.org_lock = _lock_for(_ORG_LOCKS, self.org_dir.resolve())

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def computer_name(self) -> str:
        return str(self.info["computer_name"])

    @property
    def has_exchange(self) -> bool:
        return bool(self.info.get("exchange"))

    # certificate stores -------------------------------------------------
    def store_dir(self, store: str) -> Path:
        return self.dir / "stores" / store

    def certificates(self, store: str) -> list[StoredCert]:
        folder = self.store_dir(store)
        if not folder.is_dir():
            return []
        found = []
        for cer in sorted(folder.glob("*.cer")):
            found.append(self._load(store, cer))
        return found

    def find(self, store: str, thumb: str) -> StoredCert | None:
        cer = self.store_dir(store) / f"{thumb.upper()}.cer"
        return self._load(store, cer) if cer.is_file() else None

    def _load(self, store: str, cer: Path) -> StoredCert:
        stamps = (_stamp(cer), _stamp(cer.with_suffix(".key")), _stamp(cer.with_suffix(".json")))
        return _reuse(_PARSED_CERTS, cer, stamps, lambda: self._parse(store, cer))

    def _parse(self, store: str, cer: Path) -> StoredCert:
        der = cer.read_bytes()
        cert = x509.load_der_x509_certificate(der)
        meta = read_json(cer.with_suffix(".json"), {}) or {}
        has_key = cer.with_suffix(".key").is_file()
        return StoredCert(
            store=store,
            thumbprint=thumbprint(cert),
            cert=cert,
            der=der,
            has_private_key=has_key,
            exportable=bool(meta.get("exportable", True)) if has_key else False,
            friendly_name=str(meta.get("friendly_name", "")),
            cer_path=cer,
        )

    def add_certificate(
        self,
        store: str,
        cert: x509.Certificate,
        key_pem: bytes | None = None,
        friendly_name: str | None = None,
        exportable: bool = True,
    ) -> Path:
        cer = self.store_dir(store) / f"{thumbprint(cert)}.cer"
        write_bytes_atomic(cer, cert.public_bytes(serialization.Encoding.DER))
        if key_pem is not None:
            write_bytes_atomic(cer.with_suffix(".key"), key_pem)
            write_json(cer.with_suffix(".json"), {"friendly_name": friendly_name or "", "exportable": exportable})
        elif friendly_name:
            write_json(cer.with_suffix(".json"), {"friendly_name": friendly_name, "exportable": exportable})
        return cer

    def remove_certificate(self, store: str, thumb: str) -> bool:
        cer = self.store_dir(store) / f"{thumb.upper()}.cer"
        if not cer.is_file():
            return False
        for suffix in (".key", ".json", ".cer"):
            cer.with_suffix(suffix).unlink(missing_ok=True)
        return True

    # Exchange configuration ------------------------------------------------
    def exchange_certificates(self) -> dict[str, dict[str, Any]]:
        return read_json(self.dir / "exchange" / "certificates.json", {}) or {}

    def write_exchange_certificates(self, value: dict[str, dict[str, Any]]) -> None:
        write_json(self.dir / "exchange" / "certificates.json", value)

    def transport(self) -> dict[str, Any]:
        return read_json(self.dir / "exchange" / "transport.json", {}) or {}

    def write_transport(self, value: dict[str, Any]) -> None:
        write_json(self.dir / "exchange" / "transport.json", value)

    def _org_json(self, filename: str, default: Any, shared: bool) -> Any:
        """An organisation file; ``shared`` (readers only) skips re-parsing an unchanged file."""
        return (read_json_shared if shared else read_json)(self.org_dir / filename, default)

    def send_connectors(self, *, shared: bool = False) -> list[dict[str, Any]]:
        return self._org_json("send_connectors.json", [], shared) or []

    def receive_connectors(self, *, shared: bool = False) -> list[dict[str, Any]]:
        return self._org_json("receive_connectors.json", [], shared) or []

    def hybrid(self, *, shared: bool = False) -> dict[str, Any] | None:
        return self._org_json("hybrid.json", None, shared)

    def auth_config(self, *, shared: bool = False) -> dict[str, Any]:
        """The organisation's AuthConfig: the OAuth certificate's thumbprints (current, next, previous)."""
        return self._org_json("auth_config.json", {}, shared) or {}

    def federation_trusts(self, *, shared: bool = False) -> list[dict[str, Any]]:
        """The organisation's federation trusts: each one's certificate thumbprints (current, next, previous)."""
        return self._org_json("federation_trusts.json", [], shared) or []

    def write_org(self, filename: str, value: Any) -> None:
        write_json(self.org_dir / filename, value)

    def iis_bindings(self) -> list[dict[str, Any]]:
        return read_json(self.dir / "iis" / "bindings.json", []) or []

    def write_iis_bindings(self, value: list[dict[str, Any]]) -> None:
        write_json(self.dir / "iis" / "bindings.json", value)

    def http_sys_bindings(self) -> list[dict[str, Any]]:
        """http.sys SSL bindings no IIS site owns: ``{"endpoint": "0.0.0.0:5986", "thumbprint", "store"}``."""
        return read_json(self.dir / "iis" / "http_sys.json", []) or []

    def write_http_sys_bindings(self, value: list[dict[str, Any]]) -> None:
        write_json(self.dir / "iis" / "http_sys.json", value)

    # files -------------------------------------------------------------------
    def log_mounts(self) -> dict[str, Path]:
        transport = self.transport()
        mounts: dict[str, Path] = {}
        if transport.get("send_protocol_log_path"):
            mounts[transport["send_protocol_log_path"]] = self.dir / "logs" / "SmtpSend"
        if transport.get("receive_protocol_log_path"):
            mounts[transport["receive_protocol_log_path"]] = self.dir / "logs" / "SmtpReceive"
        for kind in ("send", "receive"):
            frontend = transport.get(f"frontend_{kind}_protocol_log_path")
            if frontend and frontend not in mounts:
                mounts[frontend] = self.dir / "logs" / "FrontEnd" / f"Smtp{kind.capitalize()}"
        return mounts

    def local_path(self, windows_path: str) -> Path:
        return map_windows_path(self.dir, windows_path, self.log_mounts())
