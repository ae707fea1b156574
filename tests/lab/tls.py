"""The lab's own CA and the HTTPS server certificate every endpoint presents.

``server="expired"`` makes a server certificate whose validity ended yesterday
(the reliability tests check that a validating client refuses it);
``write_stranger_ca`` writes a CA bundle that did not sign the server
certificate (the wrong-CA case).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.lab.state import write_bytes_atomic
from tests.support.pki import key_for

UTC = dt.UTC


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Certwarden Lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


SERVER_CERTIFICATES = ("valid", "expired")


def _ca(common_name: str, key: rsa.RSAPrivateKey, now: dt.datetime) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def write_stranger_ca(path: Path) -> Path:
    """A CA bundle (PEM) of a CA that has the lab CA's name but not its key: it signed nothing the lab serves."""
    write_bytes_atomic(
        path,
        _ca("Certwarden Lab WinRM CA", key_for("lab-winrm-stranger-ca"), dt.datetime.now(UTC)).public_bytes(
            serialization.Encoding.PEM
        ),
    )
    return path


def write_lab_tls(lab_dir: Path, server: str = "valid") -> tuple[Path, Path, Path]:
    """Write ``ca.pem`` (for ansible_winrm_ca_trust_path), ``tls/server.pem`` and ``tls/server.key``.

    ``server`` is ``valid`` or ``expired`` (valid from 30 days ago to yesterday).
    """
    if server not in SERVER_CERTIFICATES:
        raise ValueError(f"server certificate {server!r}: choose one of {', '.join(SERVER_CERTIFICATES)}")
    now = dt.datetime.now(UTC)
    ca_key: rsa.RSAPrivateKey = key_for("lab-winrm-ca")
    server_key: rsa.RSAPrivateKey = key_for("lab-winrm-server")
    ca = _ca("Certwarden Lab WinRM CA", ca_key, now)
    not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    if server == "expired":
        not_before, not_after = now - dt.timedelta(days=30), now - dt.timedelta(days=1)
    server_certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = lab_dir / "ca.pem"
    cert_path = lab_dir / "tls" / "server.pem"
    key_path = lab_dir / "tls" / "server.key"
    write_bytes_atomic(ca_path, ca.public_bytes(serialization.Encoding.PEM))
    write_bytes_atomic(cert_path, server_certificate.public_bytes(serialization.Encoding.PEM))
    write_bytes_atomic(
        key_path,
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    return ca_path, cert_path, key_path
