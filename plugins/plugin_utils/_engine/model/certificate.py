"""The certificate model: one parsed X.509 certificate, cached per DER.

Only the thumbprint is computed up front; everything else is a cached
property, so a host with thousands of certificates costs little more than
``cryptography`` takes to load them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.der_names import tbs_name_ders
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import (
    DistinguishedName,
    format_windows_dn,
    name_from_x509,
    x509_name_key,
)

__all__ = [
    "Certificate",
    "InputError",
    "load_pem_bundle",
    "normalize_thumbprint",
    "parse_certificate",
    "parse_der",
    "thumbprint_of",
    "without_deprecation_notices",
]

_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH.dotted_string: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING.dotted_string: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING.dotted_string: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string: "OCSPSigning",
}
# Characters that a copy from the Windows certificate dialog or a colon-separated
# fingerprint carries around the hex digits.
_THUMBPRINT_NOISE = re.compile(r"[\s:\u200e\u200f\u200b\u200c\u200d\u2060\ufeff]")
_THUMBPRINT = re.compile(r"[0-9A-F]{40}")


class Certificate:
    """A parsed certificate. Equal (and hashed) by thumbprint."""

    __slots__ = ("__dict__", "cert", "der", "thumbprint")

    def __init__(self, der: bytes, cert: x509.Certificate, thumbprint: str | None = None) -> None:
        self.der = der
        self.cert = cert
        # Callers that already hashed the DER (the snapshot checks the agent's thumbprint) pass it in.
        self.thumbprint = thumbprint or thumbprint_of(der)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other.thumbprint == self.thumbprint

    def __hash__(self) -> int:
        return hash(self.thumbprint)

    def __repr__(self) -> str:
        return f"Certificate({self.thumbprint}, {self.subject_str!r})"

    # -- identity -------------------------------------------------------------
    @cached_property
    def serial(self) -> str:
        return format(self.cert.serial_number, "X")

    @property
    def subject(self) -> x509.Name:
        return self.cert.subject

    @property
    def issuer(self) -> x509.Name:
        return self.cert.issuer

    @cached_property
    def subject_str(self) -> str:
        """Windows-style rendering (the host's own string lives on StoredCertificate)."""
        return format_windows_dn(self.cert.subject)

    @cached_property
    def issuer_str(self) -> str:
        return format_windows_dn(self.cert.issuer)

    @cached_property
    def subject_dn(self) -> DistinguishedName:
        return name_from_x509(self.cert.subject)

    @cached_property
    def issuer_dn(self) -> DistinguishedName:
        return name_from_x509(self.cert.issuer)

    @cached_property
    def subject_key(self) -> tuple:
        """``subject_dn.key`` (the parsed-form comparison key), computed without rendering the name."""
        if "subject_dn" in self.__dict__:
            return self.subject_dn.key
        return x509_name_key(self.cert.subject)

    @cached_property
    def issuer_key(self) -> tuple:
        if "issuer_dn" in self.__dict__:
            return self.issuer_dn.key
        return x509_name_key(self.cert.issuer)

    @cached_property
    def _name_ders(self) -> tuple[bytes, bytes]:
        names = tbs_name_ders(self.der)
        if names is None:  # not the shape RFC 5280 prescribes: let cryptography re-encode the names
            return self.cert.issuer.public_bytes(), self.cert.subject.public_bytes()
        return names

    @property
    def issuer_name_der(self) -> bytes:
        """The issuer name exactly as encoded in the certificate (what path building matches on)."""
        return self._name_ders[0]

    @property
    def subject_name_der(self) -> bytes:
        """The subject name exactly as encoded in the certificate."""
        return self._name_ders[1]

    @cached_property
    def common_name(self) -> str | None:
        names = self.subject_dn.get("CN")
        return names[0] if names else None

    @cached_property
    def sans(self) -> tuple[str, ...]:
        """DNS names from the SAN extension (IP addresses as text), in certificate order."""
        ext = self._extension(x509.SubjectAlternativeName)
        if ext is None:
            return ()
        values: list[str] = list(ext.get_values_for_type(x509.DNSName))
        values.extend(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))
        return tuple(values)

    # -- validity -------------------------------------------------------------
    @cached_property
    def not_before(self) -> dt.datetime:
        return self.cert.not_valid_before_utc

    @cached_property
    def not_after(self) -> dt.datetime:
        return self.cert.not_valid_after_utc

    def is_valid_at(self, now: dt.datetime) -> bool:
        return self.not_before <= now <= self.not_after

    def days_to_expiry(self, now: dt.datetime) -> int:
        return (self.not_after - now).days

    # -- key and signature ----------------------------------------------------
    @cached_property
    def _public_key(self) -> object:
        try:
            return self.cert.public_key()
        except (UnsupportedAlgorithm, ValueError):
            return None

    @cached_property
    def key_type(self) -> str:
        key = self._public_key
        if isinstance(key, rsa.RSAPublicKey):
            return "RSA"
        if isinstance(key, ec.EllipticCurvePublicKey):
            return "EC"
        if isinstance(key, dsa.DSAPublicKey):
            return "DSA"
        if isinstance(key, ed25519.Ed25519PublicKey):
            return "Ed25519"
        if isinstance(key, ed448.Ed448PublicKey):
            return "Ed448"
        return "unknown"

    @cached_property
    def key_size(self) -> int | None:
        key = self._public_key
        if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey):
            return key.key_size
        if isinstance(key, ec.EllipticCurvePublicKey):
            return key.curve.key_size
        if isinstance(key, ed25519.Ed25519PublicKey):
            return 256
        if isinstance(key, ed448.Ed448PublicKey):
            return 456
        return None

    @cached_property
    def signature_hash(self) -> str | None:
        """``sha256``, ``sha1``, ``md5``...; None for algorithms without a separate hash (Ed25519)."""
        try:
            algorithm = self.cert.signature_hash_algorithm
        except UnsupportedAlgorithm:
            return "unknown"
        return algorithm.name if algorithm is not None else None

    # -- extensions -----------------------------------------------------------
    def _extension(self, kind: type) -> object | None:
        try:
            return self.cert.extensions.get_extension_for_class(kind).value
        except x509.ExtensionNotFound:
            return None
        except ValueError:  # a malformed extension elsewhere in the certificate
            return None

    @cached_property
    def is_ca(self) -> bool:
        bc = self._extension(x509.BasicConstraints)
        return bool(bc is not None and bc.ca)  # type: ignore[attr-defined]

    @cached_property
    def eku(self) -> tuple[str, ...]:
        ext = self._extension(x509.ExtendedKeyUsage)
        if ext is None:
            return ()
        return tuple(_EKU_NAMES.get(oid.dotted_string, oid.dotted_string) for oid in ext)  # type: ignore[attr-defined]

    @cached_property
    def ski(self) -> str | None:
        ext = self._extension(x509.SubjectKeyIdentifier)
        return ext.digest.hex().upper() if ext is not None else None  # type: ignore[attr-defined]

    @cached_property
    def aki(self) -> str | None:
        ext = self._extension(x509.AuthorityKeyIdentifier)
        if ext is None or ext.key_identifier is None:  # type: ignore[attr-defined]
            return None
        return ext.key_identifier.hex().upper()  # type: ignore[attr-defined]

    @cached_property
    def has_aki_extension(self) -> bool:
        return self._extension(x509.AuthorityKeyIdentifier) is not None

    @cached_property
    def is_self_signed(self) -> bool:
        """Subject equals issuer and the signature verifies with its own key."""
        if self.cert.subject != self.cert.issuer:
            return False
        try:
            self.cert.verify_directly_issued_by(self.cert)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            return False
        except Exception:  # InvalidSignature
            return False
        return True

    def to_dict(self, now: dt.datetime | None = None, *, include_der: bool = False) -> dict:
        """JSON-able facts about the certificate."""
        out: dict = {
            "thumbprint": self.thumbprint,
            "serial": self.serial,
            "subject": self.subject_str,
            "issuer": self.issuer_str,
            "sans": list(self.sans),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "key_type": self.key_type,
            "key_size": self.key_size,
            "signature_hash": self.signature_hash,
            "is_ca": self.is_ca,
            "is_self_signed": self.is_self_signed,
            "eku": list(self.eku),
            "ski": self.ski,
            "aki": self.aki,
        }
        if now is not None:
            out["days_to_expiry"] = self.days_to_expiry(now)
            out["valid_now"] = self.is_valid_at(now)
        if include_der:
            out["der_b64"] = base64.b64encode(self.der).decode("ascii")
        return out


# Parsed certificates, keyed by thumbprint (the SHA-1 the snapshot computes anyway to check the agent's):
# a plain dict costs less than hashing every DER for an LRU key, and a hit is confirmed by comparing DER.
_CACHE: dict[str, Certificate] = {}
_CACHE_LIMIT = 32768  # a host can carry 10,000 roots; analyses of the same host share entries


def clear_cache() -> None:
    _CACHE.clear()


def thumbprint_of(der: bytes) -> str:
    """Windows' thumbprint: the SHA-1 of the DER, upper-case hex."""
    return hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - Windows' identifier, not security


@contextmanager
def without_deprecation_notices() -> Iterator[None]:
    """Parse without cryptography's notices of what a future release will refuse.

    cryptography warns on certificates it still reads but means to refuse one day (a serial number
    that is not positive, as in roots that Debian's and Windows' stores still ship). Python writes the
    warning to stderr, which Ansible then shows from every worker as "errantly sent data directly to
    stderr": once per server and task, about a certificate the user did not choose and cannot change.
    ``cryptography`` also warns when such a certificate's serial number is read later, and pyOpenSSL when it
    converts a peer's chain, so every action runs inside this too (``action_base.CertwardenAction.run``); the
    parsing here keeps it for callers outside an action (the main process's warm-up).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        yield


def parse_der(der: bytes, thumbprint: str) -> Certificate:
    """Parse ``der`` whose ``thumbprint_of`` is ``thumbprint`` (cached). Raises ValueError when it is not one."""
    cached = _CACHE.get(thumbprint)
    if cached is not None and cached.der == der:
        return cached
    with without_deprecation_notices():
        certificate = Certificate(der, x509.load_der_x509_certificate(der), thumbprint)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[thumbprint] = certificate
    return certificate


def parse_certificate(der: bytes) -> Certificate:
    """Parse DER (cached). Raises InputError when it is not a certificate."""
    der = bytes(der)
    try:
        return parse_der(der, thumbprint_of(der))
    except ValueError as exc:
        raise InputError(f"not a DER-encoded X.509 certificate: {exc}") from None


_BEGIN = b"-----BEGIN CERTIFICATE-----"
_END = b"-----END CERTIFICATE-----"


def load_pem_bundle(data: bytes | str, option: str) -> list[Certificate]:
    """Certificates from a PEM bundle given in ``option``, in the order given."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data or not data.strip():
        raise InputError(f"option {option}: the certificate bundle is empty")
    if b"PRIVATE KEY-----" in data:
        raise InputError(
            f"option {option}: the bundle contains a private key; give only certificates here "
            "(the key belongs in the PFX)"
        )
    begins, ends = data.count(_BEGIN), data.count(_END)
    if begins == 0:
        if data[:1] == b"\x30":
            raise InputError(f"option {option}: this looks like a DER certificate; give it PEM-encoded")
        raise InputError(f"option {option}: no '-----BEGIN CERTIFICATE-----' block found")
    if begins != ends:
        raise InputError(f"option {option}: the PEM bundle is truncated ({begins} BEGIN lines, {ends} END lines)")
    try:
        with without_deprecation_notices():
            loaded = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise InputError(f"option {option}: a certificate in the PEM bundle cannot be parsed ({exc})") from None
    return [parse_certificate(c.public_bytes(Encoding.DER)) for c in loaded]


def normalize_thumbprint(value: str, option: str) -> str:
    """Upper-case 40-hex thumbprint; strips marks, zero-width characters, spaces and colons."""
    if not isinstance(value, str):
        raise InputError(f"option {option}: {value!r} is not a thumbprint (40 hexadecimal digits)")
    cleaned = _THUMBPRINT_NOISE.sub("", value).upper()
    if not _THUMBPRINT.fullmatch(cleaned):
        raise InputError(f"option {option}: {value!r} is not a thumbprint (40 hexadecimal digits)")
    return cleaned
