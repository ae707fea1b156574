"""The roots a probe trusts: a PEM bundle on the controller, or the system's, parsed once per unchanged file."""

from __future__ import annotations

import os
import ssl
from collections.abc import Sequence
from pathlib import Path

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    Certificate,
    InputError,
    load_pem_bundle,
)

_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")


class TrustStore:
    """The bundle split in two: self-signed roots are anchors, other CAs are known intermediates.

    The known intermediates are never trusted on their own; they only let the
    probe say WHICH intermediate the server failed to send.
    """

    def __init__(self, certificates: Sequence[Certificate], source: str) -> None:
        self.source = source
        self.anchors = tuple(c for c in certificates if c.is_self_signed)
        self.intermediates = tuple(c for c in certificates if not c.is_self_signed)


def system_bundle() -> str | None:
    """The system's CA bundle file, as OpenSSL is configured to find it."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, *_SYSTEM_BUNDLES):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


# Bundles parsed in this process: path -> (the file's identity then, its TrustStore). Ansible forks a
# worker per host and task; the system bundle (the roles' default) is parsed once in the main process
# (warm_up.warm_probes), and each worker reuses that parse while the file is the same and unchanged.
_PARSED: dict[str, tuple[tuple[int, int, int, int], TrustStore]] = {}
_PARSED_LIMIT = 8


def load_trust(ca_bundle: str | None) -> TrustStore:
    """Read ``ca_bundle`` (a PEM file), or the system's bundle when it is None; unchanged files are parsed once."""
    path = ca_bundle or system_bundle()
    if path is None:
        raise InputError("option ca_bundle: no system CA bundle was found here; give the roots as a PEM file")
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            identity = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
            parsed = _PARSED.get(path)
            if parsed is not None and parsed[0] == identity:
                return parsed[1]
            data = handle.read()
    except OSError as error:
        raise InputError(f"option ca_bundle: cannot read {path!r}: {error.strerror or error}") from None
    certificates = load_pem_bundle(data, "ca_bundle")
    trust = TrustStore(certificates, path)
    if not trust.anchors:
        raise InputError(f"option ca_bundle: {path!r} holds no self-signed root certificate to trust")
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[path] = (identity, trust)
    return trust
