"""A test PKI built with ``cryptography``: the certificates every failure needs.

Nothing here is pasted from elsewhere: every certificate is made fresh when a
test (or the lab's scenario builder) asks for it. The shape mirrors what mail
admins meet in the field:

* ``root`` -> ``policy_ca`` -> ``issuing_ca`` -> ``leaf`` (two-level intermediates)
* ``legacy_root`` and ``cross_root``: the same subject and key as ``root`` but
  signed by the legacy root, as "USERTrust RSA" is cross-signed by "AAA
  Certificate Services". A host that trusts only the legacy root needs the
  cross-signed certificate as an extra intermediate.
* ``renewed``: same issuer and subject as ``leaf``, new key, newer NotBefore.
* ``expired``, ``weak`` (SHA-1, 1024-bit RSA), ``self_signed`` (Exchange's own),
  ``enterprise_*`` (an older enterprise CA whose leaf lacks an Authority Key
  Identifier).

Generating RSA keys is the slow part, so keys are cached per label for the
process: two certificates made with the same label share a key on purpose
(a re-issue with the same key), different labels never do.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass, field
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = dt.UTC
_KEYS: dict[tuple[str, int], rsa.RSAPrivateKey] = {}


def key_for(label: str, size: int = 2048) -> rsa.RSAPrivateKey:
    """The RSA key for ``label`` (made once per process)."""
    cached = _KEYS.get((label, size))
    if cached is None:
        cached = rsa.generate_private_key(public_exponent=65537, key_size=size)
        _KEYS[(label, size)] = cached
    return cached


@dataclass(frozen=True)
class Issued:
    """One certificate, with its private key when the holder has it."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey | None = field(default=None, compare=False)

    @cached_property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @cached_property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @cached_property
    def thumbprint(self) -> str:
        """SHA-1 of the DER, upper-case hex: what Windows calls the thumbprint."""
        return hashlib.sha1(self.der).hexdigest().upper()  # noqa: S324 - Windows' identifier, not a security use

    def without_key(self) -> Issued:
        """The same certificate as a copy that lost its private key."""
        return Issued(self.cert, None)

    def key_pem(self) -> bytes:
        if self.key is None:
            raise ValueError("this certificate has no private key")
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def pfx(self, password: bytes | None, chain: tuple[Issued, ...] = (), name: bytes | None = None) -> bytes:
        """PKCS#12 with the key (if any), the certificate and ``chain``."""
        encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
        return pkcs12.serialize_key_and_certificates(
            name, self.key, self.cert, [c.cert for c in chain] or None, encryption
        )


def name(
    common_name: str,
    *,
    org: str | None = "Contoso Ltd",
    ou: str | None = None,
    locality: str | None = None,
    state: str | None = None,
    country: str | None = "US",
) -> x509.Name:
    """An X.509 name; the order given is the order written (C first, CN last)."""
    attrs: list[x509.NameAttribute] = []
    for oid, value in (
        (NameOID.COUNTRY_NAME, country),
        (NameOID.STATE_OR_PROVINCE_NAME, state),
        (NameOID.LOCALITY_NAME, locality),
        (NameOID.ORGANIZATION_NAME, org),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        (NameOID.COMMON_NAME, common_name),
    ):
        if value is not None:
            attrs.append(x509.NameAttribute(oid, value))
    return x509.Name(attrs)


def make_certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: Issued | None = None,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    ca: bool = False,
    path_length: int | None = None,
    sans: tuple[str, ...] = (),
    ip_sans: tuple[str, ...] = (),
    hash_algorithm: hashes.HashAlgorithm | None = None,
    authority_key_identifier: bool = True,
    server_auth: bool = True,
    serial: int | None = None,
) -> Issued:
    """Sign a certificate for ``subject``/``key`` by ``issuer`` (self-signed when None)."""
    signer_key = issuer.key if issuer is not None else key
    if signer_key is None:
        raise ValueError("the issuer has no private key to sign with")
    issuer_name = issuer.cert.subject if issuer is not None else subject
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if authority_key_identifier:
        signer_public = signer_key.public_key()
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_public), critical=False
        )
    if ca:
        builder = builder.add_extension(
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
    else:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        if server_auth:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
    if sans or ip_sans:
        names: list[x509.GeneralName] = [x509.DNSName(s) for s in sans]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_sans]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if isinstance(hash_algorithm, hashes.SHA1):
        return Issued(_sign_sha1(builder, signer_key), key)
    cert = builder.sign(signer_key, hash_algorithm or hashes.SHA256())
    return Issued(cert, key)


_SHA256_RSA = bytes.fromhex("2a864886f70d01010b")  # OID 1.2.840.113549.1.1.11
_SHA1_RSA = bytes.fromhex("2a864886f70d010105")  # OID 1.2.840.113549.1.1.5


def _sign_sha1(builder: x509.CertificateBuilder, signer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """A SHA-1-signed certificate, which ``cryptography`` no longer signs itself.

    Field servers still carry these, so the weak_signature check needs one. Sign
    with SHA-256 first, swap the algorithm OID (same length, so no DER length
    changes) in the TBS and the outer AlgorithmIdentifier, then re-sign the TBS
    with SHA-1 (same key size, so the signature length is unchanged too).
    """
    draft = builder.sign(signer_key, hashes.SHA256())
    tbs = draft.tbs_certificate_bytes.replace(_SHA256_RSA, _SHA1_RSA)
    signature = signer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - deliberately weak
    der = draft.public_bytes(serialization.Encoding.DER)
    head = der[: der.index(draft.tbs_certificate_bytes)]
    tail = der[len(head) + len(tbs) :].replace(_SHA256_RSA, _SHA1_RSA)
    tail = tail[: len(tail) - len(signature)] + signature
    return x509.load_der_x509_certificate(head + tbs + tail)


class TestPki:
    """The whole test PKI for one organisation, made relative to ``now``."""

    __test__ = False  # not a pytest test class

    def __init__(self, now: dt.datetime | None = None, domain: str = "contoso.com", org: str = "Contoso Ltd") -> None:
        self.now = (now or dt.datetime.now(UTC)).replace(microsecond=0)
        self.domain = domain
        self.org = org
        self.fqdn = f"mail.{domain}"
        self.sans = (self.fqdn, f"autodiscover.{domain}", f"smtp.{domain}")
        day = dt.timedelta(days=1)
        self._day = day
        years = 3650 * day

        # The public-style hierarchy: root -> policy CA -> issuing CA -> leaves.
        self.root = make_certificate(
            name("Certwarden Test Root CA", org="Certwarden Trust"),
            key_for("root"),
            not_before=self.now - 400 * day,
            not_after=self.now + years,
            ca=True,
        )
        self.legacy_root = make_certificate(
            name("Certwarden Legacy Root", org="Certwarden Trust"),
            key_for("legacy-root"),
            not_before=self.now - 4000 * day,
            not_after=self.now + years,
            ca=True,
        )
        # Same subject and key as root, signed by the legacy root (a cross-sign).
        self.cross_root = make_certificate(
            self.root.cert.subject,
            key_for("root"),
            self.legacy_root,
            not_before=self.now - 300 * day,
            not_after=self.now + years,
            ca=True,
        )
        self.policy_ca = make_certificate(
            name("Certwarden Policy CA", org="Certwarden Trust"),
            key_for("policy-ca"),
            self.root,
            not_before=self.now - 390 * day,
            not_after=self.now + years,
            ca=True,
            path_length=1,
        )
        self.issuing_ca = make_certificate(
            name("Certwarden TLS Issuing CA 1", org="Certwarden Trust", state="Washington"),
            key_for("issuing-ca"),
            self.policy_ca,
            not_before=self.now - 380 * day,
            not_after=self.now + years,
            ca=True,
            path_length=0,
        )
        leaf_subject = name(self.fqdn, org=org, locality="Redmond", state="Washington")
        self.leaf_subject = leaf_subject
        self.leaf = self.issue(leaf_subject, "leaf", not_before=self.now - 300 * day, not_after=self.now + 60 * day)
        self.renewed = self.issue(
            leaf_subject, "renewed", not_before=self.now - 2 * day, not_after=self.now + 395 * day
        )
        # The renewal re-issued (a new CSR), same issuer and subject, newest NotBefore:
        # in the field it arrives as a .cer imported without its private key.
        self.reissued = self.issue(
            leaf_subject, "reissued", not_before=self.now - 1 * day, not_after=self.now + 396 * day
        )
        self.expired = self.issue(
            leaf_subject, "expired", not_before=self.now - 800 * day, not_after=self.now - 400 * day
        )
        self.expiring = self.issue(
            leaf_subject, "expiring", not_before=self.now - 360 * day, not_after=self.now + 5 * day
        )
        self.weak = self.issue(
            name(f"legacy.{domain}", org=org),
            "weak",
            not_before=self.now - 10 * day,
            not_after=self.now + 300 * day,
            key_size=1024,
            hash_algorithm=hashes.SHA1(),  # noqa: S303 - the weak case
            sans=(f"legacy.{domain}",),
        )
        # A subject change at renewal (new O=): the stale-connector case.
        self.rebranded = self.issue(
            name(self.fqdn, org=f"{org} Group", locality="Redmond", state="Washington"),
            "rebranded",
            not_before=self.now - 1 * day,
            not_after=self.now + 395 * day,
        )
        self.self_signed = make_certificate(
            name("EX01", org=None, country=None),
            key_for("self-signed"),
            not_before=self.now - 700 * day,
            not_after=self.now + 1100 * day,
            sans=("EX01", f"EX01.{domain}"),
        )
        # An older enterprise CA: its leaves carry no Authority Key Identifier.
        self.enterprise_root = make_certificate(
            name(f"{org} Enterprise Root CA", org=org),
            key_for("ent-root"),
            not_before=self.now - 2000 * day,
            not_after=self.now + years,
            ca=True,
        )
        self.enterprise_issuing = make_certificate(
            name(f"{org} Enterprise Issuing CA", org=org),
            key_for("ent-issuing"),
            self.enterprise_root,
            not_before=self.now - 1900 * day,
            not_after=self.now + years,
            ca=True,
            path_length=0,
        )
        self.enterprise_leaf = make_certificate(
            name(f"ex01.{domain}", org=org),
            key_for("ent-leaf"),
            self.enterprise_issuing,
            not_before=self.now - 30 * day,
            not_after=self.now + 700 * day,
            sans=(f"ex01.{domain}", self.fqdn),
            authority_key_identifier=False,
        )

    @property
    def chain(self) -> tuple[Issued, Issued]:
        """The intermediates a leaf needs, nearest first."""
        return (self.issuing_ca, self.policy_ca)

    def issue(
        self,
        subject: x509.Name,
        label: str,
        *,
        not_before: dt.datetime,
        not_after: dt.datetime,
        sans: tuple[str, ...] | None = None,
        key_size: int = 2048,
        hash_algorithm: hashes.HashAlgorithm | None = None,
        issuer: Issued | None = None,
    ) -> Issued:
        """A leaf under the issuing CA (or ``issuer``) with its own key."""
        return make_certificate(
            subject,
            key_for(label, key_size),
            issuer or self.issuing_ca,
            not_before=not_before,
            not_after=not_after,
            sans=self.sans if sans is None else sans,
            hash_algorithm=hash_algorithm,
        )


def non_positive_serial_root_pem() -> bytes:
    """A self-signed root whose serial number is -1, as a few old roots in system bundles still have.

    ``cryptography`` refuses to build one, so this builds serial 1 and rewrites that byte in the DER: the
    signature no longer verifies, which does not matter to a parser. Loading it makes ``cryptography``
    warn that a future release will refuse it.
    """
    key = key_for("non-positive serial root")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Old Root With A Negative Serial")])
    now = dt.datetime.now(UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    version_then_serial = bytes.fromhex("a003020102020101")  # [0] v3, INTEGER 1
    der = built.public_bytes(serialization.Encoding.DER)
    assert der.count(version_then_serial) == 1
    der = der.replace(version_then_serial, bytes.fromhex("a0030201020201ff"))  # INTEGER -1
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[at : at + 64] for at in range(0, len(body), 64)]
    return b"\n".join([b"-----BEGIN CERTIFICATE-----", *lines, b"-----END CERTIFICATE-----", b""])
