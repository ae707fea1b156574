"""Files the user gives on the controller: the PFX, the chain bundle, and backups kept there.

Every error names the option and the value (never the password), so that a
user can fix the input without a traceback.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    Certificate,
    load_pem_bundle,
    parse_certificate,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import ModuleFailure

# A PEM bundle larger than this is not a chain: refuse it before parsing.
MAX_BUNDLE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LoadedPfx:
    certificate: Certificate
    chain: tuple[Certificate, ...]
    # The leaf and its key alone, re-packed with the same password, for the
    # import_pfx step: intermediates travel as install_intermediate steps so
    # that none of them ever lands in the server's My store.
    leaf_pfx_b64: str
    # The same, encrypted with 3DES and a SHA-1 MAC: Windows before Server 2019 cannot import PBES2/AES-256.
    leaf_pfx_legacy_b64: str


def read_controller_file(path: str, option: str, reader: Callable[[str], bytes]) -> bytes:
    """Bytes of a controller file (``reader`` decrypts Ansible Vault files)."""
    if not os.path.isfile(path):
        raise ModuleFailure(f"option {option}: '{path}' is not a file on the controller")
    try:
        return reader(path)
    except OSError as error:
        raise ModuleFailure(f"option {option}: '{path}' cannot be read: {error.strerror}") from None


def load_pfx(data: bytes, password: str | None, path: str) -> LoadedPfx:
    """Open the user's PFX; wrong password, no key or no certificate are user errors."""
    secret = password.encode("utf-8") if password else None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except ValueError:
        raise ModuleFailure(
            f"option certificate.pfx: '{path}' could not be opened: the file is not a PKCS#12 file or "
            "certificate.password is not its password"
        ) from None
    if cert is None and extra:
        # PKCS#12 names "the" certificate only when a key goes with it.
        raise ModuleFailure(
            f"option certificate.pfx: '{path}' holds {len(extra)} certificate(s) but no private key; Exchange cannot "
            "use a certificate without one (TLS negotiation failed with error NoCredentials)"
        )
    if cert is None:
        raise ModuleFailure(f"option certificate.pfx: '{path}' holds no certificate")
    if key is None:
        raise ModuleFailure(
            f"option certificate.pfx: '{path}' holds no private key; Exchange cannot use a certificate without one "
            "(TLS negotiation failed with error NoCredentials)"
        )
    encryption = serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    leaf_only = pkcs12.serialize_key_and_certificates(None, key, cert, None, encryption)
    legacy = serialization.NoEncryption()
    if secret:
        legacy = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2000)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())  # noqa: S303 - what Windows Server 2016 and older can read
            .build(secret)
        )
    leaf_legacy = pkcs12.serialize_key_and_certificates(None, key, cert, None, legacy)
    return LoadedPfx(
        certificate=parse_certificate(cert.public_bytes(serialization.Encoding.DER)),
        chain=tuple(parse_certificate(c.public_bytes(serialization.Encoding.DER)) for c in extra),
        leaf_pfx_b64=base64.b64encode(leaf_only).decode("ascii"),
        leaf_pfx_legacy_b64=base64.b64encode(leaf_legacy).decode("ascii"),
    )


def load_chain_bundle(path: str, data: bytes) -> list[Certificate]:
    if len(data) > MAX_BUNDLE_BYTES:
        raise ModuleFailure(
            f"option chain: '{path}' is {len(data)} bytes; a chain bundle is a few kilobytes of PEM "
            f"(the limit is {MAX_BUNDLE_BYTES})"
        )
    # The path travels with the option name so that every parse error names the file.
    return load_pem_bundle(data, f"chain ('{path}')")
