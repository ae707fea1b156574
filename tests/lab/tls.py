"""The lab's own CA and the HTTPS server certificate every endpoint presents.

``server="expired"`` makes a server certificate whose validity ended yesterday
(the reliability tests check that a validating client refuses it);
``write_stranger_ca`` writes a CA bundle that did not sign the server
certificate (the wrong-CA case).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.lab.state import write_bytes_atomic
from tests.support.pki import Issued, key_for, make_certificate, name

UTC = dt.UTC
SERVER_CERTIFICATES = ("valid", "expired")
_ORG = "Certwarden Lab"


def _ca(common_name: str, key: rsa.RSAPrivateKey, now: dt.datetime) -> Issued:
    return make_certificate(
        name(common_name, org=_ORG, country=None),
        key,
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=30),
        ca=True,
        path_length=0,
    )


def write_stranger_ca(path: Path) -> Path:
    """A CA bundle (PEM) of a CA that has the lab CA's name but not its key: it signed nothing the lab serves."""
    write_bytes_atomic(
        path,
        _ca("Certwarden Lab WinRM CA", key_for("lab-winrm-stranger-ca"), dt.datetime.now(UTC)).pem,
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
    server_certificate = make_certificate(
        name("localhost", org=_ORG, country=None),
        server_key,
        ca,
        not_before=not_before,
        not_after=not_after,
        sans=("localhost",),
        ip_sans=("127.0.0.1",),
    )
    ca_path = lab_dir / "ca.pem"
    cert_path = lab_dir / "tls" / "server.pem"
    key_path = lab_dir / "tls" / "server.key"
    write_bytes_atomic(ca_path, ca.pem)
    write_bytes_atomic(cert_path, server_certificate.pem)
    write_bytes_atomic(key_path, server_certificate.key_pem())
    return ca_path, cert_path, key_path
