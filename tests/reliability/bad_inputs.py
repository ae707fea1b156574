"""The bad input catalogue: files made from the case lab's PKI, and one task per case.

Each case is ``(name, module, args, expected)``: ``expected`` is ``"ok"`` for
input that must be accepted after normalisation, else the words the failure
message must contain (the option, and the value when it is not a secret).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import pkcs12

from tests.support.lab_plays import compliance_args
from tests.support.pki import TestPki, key_for, make_certificate, name

WRONG_PASSWORD = "not-the-Pfx-pw-93"


@dataclass(frozen=True)
class BadInput:
    name: str
    module: str
    args: dict[str, Any]
    expected: str | tuple[str, ...]
    check_mode: bool = False


def write_bad_files(pki: TestPki, folder: Path) -> dict[str, Path]:
    """Every malformed or mismatched file the catalogue hands to the modules."""
    folder.mkdir(parents=True, exist_ok=True)
    renewed_pem = pki.renewed.pem
    key_pem = pki.renewed.key_pem()
    stranger = make_certificate(
        name("mail.fabrikam.example", org="Fabrikam", country="US"),
        key_for("bad-input-stranger"),
        pki.issuing_ca,
        not_before=pki.now - dt.timedelta(days=10),
        not_after=pki.now + dt.timedelta(days=300),
        sans=("mail.fabrikam.example",),
    )
    unrelated_ca = make_certificate(
        name("Unrelated Issuing CA", org="Elsewhere", country="US"),
        key_for("bad-input-unrelated-ca"),
        None,
        not_before=pki.now - dt.timedelta(days=10),
        not_after=pki.now + dt.timedelta(days=3000),
        ca=True,
    )
    files = {
        "truncated_pem": renewed_pem[: len(renewed_pem) // 2],
        "der_as_pem": pki.issuing_ca.der,
        "key_as_chain": key_pem,
        "unrelated_chain": unrelated_ca.pem,
        "empty": b"",
        "huge_pem": b"-----BEGIN CERTIFICATE-----\n"
        + b"QUFB" * (50 * 1024 * 1024 // 4)
        + b"\n-----END CERTIFICATE-----\n",
        "pfx_without_key": pkcs12.serialize_key_and_certificates(
            None, None, None, [pki.renewed.cert], pkcs12_encryption(pki)
        ),
        "stranger_pfx": stranger.pfx(pki_password(pki).encode(), chain=pki.chain),
        "expired_pfx": pki.expired.pfx(pki_password(pki).encode(), chain=pki.chain),
        "garbage_pfx": b"this is not a PKCS#12 file\n",
    }
    paths = {}
    for label, data in files.items():
        path = folder / label
        path.write_bytes(data)
        paths[label] = path
    (folder / "a_directory").mkdir(exist_ok=True)
    paths["a_directory"] = folder / "a_directory"
    return paths


def pki_password(_pki: TestPki) -> str:
    from tests.lab.scenarios import PFX_PASSWORD

    return PFX_PASSWORD


def pkcs12_encryption(pki: TestPki) -> Any:
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption

    return BestAvailableEncryption(pki_password(pki).encode())


def catalogue(files: dict[str, Path], backups: Path, pki: TestPki) -> list[BadInput]:
    """At least thirty cases; every failing one must name its option."""
    base = compliance_args(backups)

    def comp(**overrides: Any) -> dict[str, Any]:
        return {**base, **overrides}

    def cert(**fields: Any) -> dict[str, Any]:
        return comp(certificate={**base["certificate"], **fields})

    intended = "{{ certwarden_intended_thumbprint }}"
    cases = [
        BadInput(
            "thumbprint with U+200E",
            "cert_compliance",
            cert(thumbprint="\u200e" + pki.renewed.thumbprint.lower()),
            "ok",
            True,
        ),
        BadInput(
            "thumbprint with spaces",
            "cert_compliance",
            cert(thumbprint=" ".join(pki.renewed.thumbprint[i : i + 2] for i in range(0, 40, 2))),
            "ok",
            True,
        ),
        BadInput(
            "thumbprint with a non-hex letter",
            "cert_compliance",
            cert(thumbprint="G" + pki.renewed.thumbprint[1:]),
            ("certificate.thumbprint",),
        ),
        BadInput(
            "thumbprint too short",
            "cert_compliance",
            cert(thumbprint=pki.renewed.thumbprint[:39]),
            ("certificate.thumbprint",),
        ),
        BadInput("thumbprint empty", "cert_compliance", cert(thumbprint=""), ("certificate.thumbprint",)),
        BadInput(
            "conflicting options: thumbprint differs from the PFX",
            "cert_compliance",
            cert(thumbprint=pki.leaf.thumbprint),
            ("thumbprint",),
        ),
        BadInput(
            "truncated PEM chain",
            "cert_compliance",
            comp(chain=str(files["truncated_pem"])),
            ("chain", "truncated_pem"),
        ),
        BadInput(
            "DER given as PEM chain", "cert_compliance", comp(chain=str(files["der_as_pem"])), ("chain", "der_as_pem")
        ),
        BadInput(
            "private key given as the chain",
            "cert_compliance",
            comp(chain=str(files["key_as_chain"])),
            ("chain", "key_as_chain"),
        ),
        BadInput(
            "chain that does not chain to the certificate",
            "cert_compliance",
            comp(certificate={"thumbprint": intended}, chain=str(files["unrelated_chain"])),
            ("option chain", "does not complete the chain"),
        ),
        BadInput("empty chain file", "cert_compliance", comp(chain=str(files["empty"])), ("chain", "empty")),
        BadInput("50 MB PEM chain", "cert_compliance", comp(chain=str(files["huge_pem"])), ("chain", "huge_pem")),
        BadInput(
            "chain is a directory", "cert_compliance", comp(chain=str(files["a_directory"])), ("chain", "a_directory")
        ),
        BadInput(
            "chain file missing",
            "cert_compliance",
            comp(chain=str(files["a_directory"] / "nope.pem")),
            ("chain", "nope.pem"),
        ),
        BadInput(
            "PFX with the wrong password", "cert_compliance", cert(password=WRONG_PASSWORD), ("certificate.password",)
        ),
        BadInput("PFX without a password", "cert_compliance", cert(password=None), ("certificate",)),
        BadInput(
            "PFX without a private key",
            "cert_compliance",
            cert(pfx=str(files["pfx_without_key"]), thumbprint=None),
            ("certificate.pfx", "pfx_without_key"),
        ),
        BadInput(
            "PFX that is not PKCS#12",
            "cert_compliance",
            cert(pfx=str(files["garbage_pfx"]), thumbprint=None),
            ("certificate.pfx", "garbage_pfx"),
        ),
        BadInput(
            "PFX file missing",
            "cert_compliance",
            cert(pfx=str(files["a_directory"] / "nope.pfx")),
            ("certificate.pfx", "nope.pfx"),
        ),
        BadInput("empty PFX", "cert_compliance", cert(pfx=str(files["empty"]), thumbprint=None), ("certificate.pfx",)),
        BadInput(
            "expired intended certificate",
            "cert_compliance",
            cert(pfx=str(files["expired_pfx"]), thumbprint=pki.expired.thumbprint),
            ("expired",),
        ),
        BadInput(
            "send connector that does not exist",
            "cert_compliance",
            comp(send_connectors=["Outbound to Nowhere"]),
            ("send connector", "Outbound to Nowhere"),
        ),
        BadInput(
            "receive connector that does not exist",
            "cert_compliance",
            comp(receive_connectors=["Default Frontend NOSUCH"]),
            ("receive connector", "Default Frontend NOSUCH"),
        ),
        BadInput("unknown service name", "cert_compliance", comp(services=["IIS", "SMPT"]), ("services", "SMPT")),
        BadInput(
            "IIS binding without a port",
            "cert_compliance",
            comp(iis_bindings=["Default Web Site"]),
            ("iis_bindings", "Default Web Site"),
        ),
        BadInput(
            "IIS site that does not exist",
            "cert_compliance",
            comp(iis_bindings=["No Such Site:443"]),
            ("IIS https binding", "No Such Site"),
        ),
        BadInput(
            "duplicates: an unknown choice", "cert_compliance", comp(duplicates="delete"), ("duplicates", "delete")
        ),
        BadInput("an unknown option", "cert_compliance", comp(colour="blue"), ("colour",)),
        BadInput(
            "expiry_warning_days not a number",
            "cert_compliance",
            comp(expiry_warning_days="soon"),
            ("expiry_warning_days", "soon"),
        ),
        BadInput(
            "backup password without anything to keep",
            "cert_compliance",
            comp(backup={"password": 12345, "local_directory": str(files["a_directory"] / "x")}),
            "ok",
            True,
        ),
        BadInput(
            "restore from a folder that does not exist",
            "cert_restore",
            {"src": str(files["a_directory"] / "nope"), "password": "whatever-Zz1"},
            ("src", "nope"),
        ),
        BadInput(
            "restore a named thumbprint from a folder without backups",
            "cert_restore",
            {"src": str(files["a_directory"]), "thumbprints": ["A" * 40]},
            ("thumbprints", "A" * 40),
        ),
        BadInput(
            "restore a thumbprint that is not hex",
            "cert_restore",
            {"src": str(backups), "thumbprints": ["XYZ"]},
            ("thumbprints", "XYZ"),
        ),
        BadInput("facts with an unknown option", "cert_facts", {"store": "My"}, ("store",)),
        BadInput(
            "PFX password given as a mapping",
            "cert_compliance",
            cert(password={"a": 1}),
            ("certificate.password", "expected a string, got a mapping"),
        ),
        BadInput("certificate declared empty", "cert_compliance", comp(certificate={}), ("neither", "certificate")),
        BadInput(
            "backup.local_directory empty",
            "cert_compliance",
            comp(backup={"local_directory": "", "password": "whatever-Zz1"}),
            ("backup.local_directory", "''"),
        ),
        BadInput(
            "expiry_warning_days far too large",
            "cert_compliance",
            comp(expiry_warning_days=1000000000000),
            ("expiry_warning_days", "1000000000000"),
        ),
        *[
            BadInput(
                f"backup.remote_directory {label}",
                "cert_compliance",
                comp(backup={**base["backup"], "remote_directory": value}),
                ("backup.remote_directory", value),
            )
            for label, value in (
                ("relative", "backups"),
                ("a drive root", "C:\\"),
                ("UNC", "\\\\fileserver\\backups"),
                ("in Windows", "C:\\Windows\\Temp\\certs"),
                ("in Program Files", "D:\\Program Files\\Microsoft\\Exchange Server\\V15\\Backup"),
                ("a short (8.3) name", "C:\\PROGRA~1\\certs"),
            )
        ],
        BadInput(
            "PFX file missing, relative path",
            "cert_compliance",
            cert(pfx="no-such-renewal.pfx"),
            ("certificate.pfx", "no-such-renewal.pfx"),
        ),
        BadInput(
            "probe port out of range",
            "cert_compliance",
            comp(probes=[{"host": "127.0.0.1", "port": 70000}]),
            ("probes[0].port", "70000"),
            check_mode=True,
        ),
        BadInput(
            "probe timeout zero",
            "cert_compliance",
            comp(probes=[{"host": "127.0.0.1", "port": 25, "timeout": 0}]),
            ("probes[0].timeout", "0"),
            check_mode=True,
        ),
        BadInput("probe without a port", "cert_compliance", comp(probes=[{"host": "127.0.0.1"}]), ("port",)),
        BadInput(
            "verdict of a variable the host does not have",
            "compliance_verdict",
            {"registered": ["no_such_result"]},
            ("registered", "no_such_result"),
        ),
        BadInput("verdict of nothing", "compliance_verdict", {}, ("results", "registered")),
    ]
    return cases


def stranger_case(files: dict[str, Path], backups: Path) -> BadInput:
    """An intended certificate that does not cover the connector's FQDN (mail.contoso.com)."""
    base = compliance_args(backups)
    args = {**base, "certificate": {**base["certificate"], "pfx": str(files["stranger_pfx"]), "thumbprint": None}}
    return BadInput("intended certificate without the connector FQDN", "cert_compliance", args, ("mail.contoso.com",))
