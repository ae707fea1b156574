"""How Windows and Exchange spell certificate names and file paths.

The lab is the oracle the engine is tested against, so it keeps its own small
implementation of these conventions instead of importing the project's.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PureWindowsPath

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

# Windows' short names for the attributes it knows; anything else prints as OID.x.
_SHORT_NAMES = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "S",
    NameOID.COUNTRY_NAME: "C",
    NameOID.EMAIL_ADDRESS: "E",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.TITLE: "T",
    NameOID.GIVEN_NAME: "G",
    NameOID.SURNAME: "SN",
}
_NEEDS_QUOTES = re.compile(r'[,+=<>#;"\n\r]|^\s|\s$')


def _quote(value: str) -> str:
    if value == "" or _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def windows_dn(name: x509.Name) -> str:
    """``CN=x, O=y, S=st, C=US``: most specific first, as ``X509Certificate2.Subject`` prints it."""
    parts: list[str] = []
    for rdn in reversed(name.rdns):
        pieces = []
        for attribute in rdn:
            label = _SHORT_NAMES.get(attribute.oid, f"OID.{attribute.oid.dotted_string}")
            value = attribute.value if isinstance(attribute.value, str) else attribute.value.decode("latin-1")
            pieces.append(f"{label}={_quote(value)}")
        parts.append(" + ".join(pieces))
    return ", ".join(parts)


def tls_certificate_name(cert: x509.Certificate) -> str:
    """The ``<I>issuer<S>subject`` string a connector uses to name a certificate."""
    return f"<I>{windows_dn(cert.issuer)}<S>{windows_dn(cert.subject)}"


def thumbprint(cert: x509.Certificate) -> str:
    der = cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - Windows' identifier, not a security use


def sans(cert: x509.Certificate) -> list[str]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(value) for value in extension.value.get_values_for_type(x509.DNSName)]


class BadWindowsPath(ValueError):
    """A Windows path the lab cannot map into a host folder."""


def map_windows_path(host_dir: Path, windows_path: str, mounts: dict[str, Path] | None = None) -> Path:
    """Where ``C:\\x\\y`` lives in a host folder: ``filesystem/C/x/y``.

    ``mounts`` maps Windows folders (compared case-insensitively, as Windows
    does) to other host-folder places: the transport service's log paths map to
    ``logs/SmtpSend`` and ``logs/SmtpReceive`` so they are easy to find.
    """
    path = PureWindowsPath(windows_path)
    if not path.drive or not path.is_absolute():
        raise BadWindowsPath(f"The path '{windows_path}' is not an absolute path with a drive letter.")
    if any(part == ".." for part in path.parts):
        raise BadWindowsPath(f"The path '{windows_path}' leaves its drive.")
    for mount, target in (mounts or {}).items():
        mount_path = PureWindowsPath(mount)
        lowered = [p.lower() for p in path.parts]
        mount_parts = [p.lower() for p in mount_path.parts]
        if lowered[: len(mount_parts)] == mount_parts:
            return target.joinpath(*path.parts[len(mount_parts) :])
    drive = path.drive.rstrip(":").upper()
    return host_dir / "filesystem" / drive / Path(*path.parts[1:])
