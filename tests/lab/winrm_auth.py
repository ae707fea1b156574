"""HTTP authentication of a lab host, per TCP connection, the way the WinRM service does it.

Basic is checked on every request. NTLM, Kerberos and CredSSP are
connection-bound (the Windows HTTP stack authenticates the connection, not the
request): the legs run as 401 challenges on one connection, and once the context
is complete the rest of that connection's requests carry no Authorization
header (over HTTP they are sealed instead, see winrm_crypto.py). The acceptors
are pyspnego's: NTLM against the lab's NTLM_USER_FILE, Kerberos against the
lab's keytab (KRB5_KTNAME), CredSSP with the lab's TLS certificate.

Every completed logon says whether the server could authenticate onward with
it (``can_delegate``): Basic and CredSSP hand the server the password; NTLM and
Kerberos without a forwarded ticket do not (docs/lab.md, "The double hop").
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass, field

import spnego
import spnego.tls
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from spnego.exceptions import SpnegoError

from tests.lab.winrm_crypto import CREDSSP_PROTOCOL, SPNEGO_PROTOCOL

MECHANISMS = ("basic", "ntlm", "kerberos", "credssp")
_OFFERS = {"basic": 'Basic realm="WSMAN"', "ntlm": "Negotiate", "kerberos": "Negotiate", "credssp": "CredSSP"}
_SCHEME_NAMES = {"negotiate": "Negotiate", "kerberos": "Kerberos", "ntlm": "NTLM", "credssp": "CredSSP"}
_NTLM_SIGNATURE = b"NTLMSSP\0"
_KRB5_OID = b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"


@dataclass(frozen=True)
class Logon:
    """A completed authentication on one connection."""

    mechanism: str
    user: str
    can_delegate: bool


@dataclass(frozen=True)
class AuthSettings:
    """host.json's ``auth``: the account and the mechanisms this host's listener accepts."""

    user: str
    password: str
    mechanisms: tuple[str, ...] = ("basic",)
    spn_host: str = ""
    # WinRM's service setting AllowUnencrypted (default false): whether a body may travel unsealed over HTTP.
    allow_unencrypted: bool = False

    @classmethod
    def from_host(cls, auth: dict, fqdn: str) -> AuthSettings:
        mechanisms = tuple(auth.get("mechanisms") or ("basic",))
        unknown = set(mechanisms) - set(MECHANISMS)
        if unknown:
            raise ValueError(f"host.json auth.mechanisms: unknown {sorted(unknown)}; known {MECHANISMS}")
        allow_unencrypted = auth.get("allow_unencrypted", False)
        if not isinstance(allow_unencrypted, bool):
            raise ValueError(f"host.json auth.allow_unencrypted: {allow_unencrypted!r} is not true or false")
        return cls(str(auth["user"]), str(auth["password"]), mechanisms, fqdn, allow_unencrypted)


@dataclass
class Verdict:
    """What the handler does with one request."""

    status: int  # 200: serve the request; otherwise answer with this status and no body
    attempted: str  # the mechanism the request used ("none" without an Authorization header)
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = ""


class _Sealer:
    """Seals with a completed NTLM/Kerberos context (header = signature) or a CredSSP one (TLS records)."""

    def __init__(self, context: spnego.ContextProxy, mechanism: str) -> None:
        self.context = context
        self.protocol = CREDSSP_PROTOCOL if mechanism == "credssp" else SPNEGO_PROTOCOL

    def seal(self, data: bytes) -> bytes:
        if self.protocol == CREDSSP_PROTOCOL:
            sealed = self.context.wrap(data).data
            return struct.pack("<I", _tls_trailer_length(self.context, len(data))) + sealed
        result = self.context.wrap_winrm(data)
        return struct.pack("<I", len(result.header)) + result.header + result.data

    def unseal(self, payload: bytes) -> bytes:
        if self.protocol == CREDSSP_PROTOCOL:
            return self.context.unwrap(payload[4:]).data
        length = struct.unpack("<I", payload[:4])[0]
        return self.context.unwrap_winrm(payload[4 : 4 + length], payload[4 + length :])


def _tls_trailer_length(context: spnego.ContextProxy, size: int) -> int:
    """The TLS trailer (MAC + padding) of one record, as SChannel's stream sizes report it."""
    cipher = context.get_extra_info("ssl_object").cipher()[0]
    if "GCM" in cipher or "CHACHA20" in cipher or cipher.startswith("TLS_"):
        return 16
    digest = {"SHA": 20, "SHA256": 32, "SHA384": 48}.get(cipher.rsplit("-", 1)[-1], 0)
    return digest + 16 - (size + digest) % 16


def _mechanism_of(token: bytes) -> str:
    if token.startswith(_NTLM_SIGNATURE):
        return "ntlm"
    if _KRB5_OID in token[:20]:
        return "kerberos"
    return "negotiate"  # SPNEGO: NTLM or Kerberos inside, known when the context completes


class ConnectionAuth:
    """The authentication state of one TCP connection to one lab host."""

    def __init__(self, settings: AuthSettings, server_certificate_hash: bytes | None = None) -> None:
        self.settings = settings
        self.certificate_hash = server_certificate_hash
        self.credssp_tls: spnego.tls.CredSSPTLSContext | None = None
        self.logon: Logon | None = None
        self.sealer: _Sealer | None = None
        self._context: spnego.ContextProxy | None = None
        self._scheme = ""

    def challenge(self, attempted: str, reason: str) -> Verdict:
        offers = ", ".join(dict.fromkeys(_OFFERS[m] for m in self.settings.mechanisms))
        self._context = None
        return Verdict(401, attempted, {"WWW-Authenticate": offers}, reason)

    def admit(self, authorization: str) -> Verdict:
        """Decide on one request from its Authorization header (the connection's logon may change)."""
        scheme, _sep, token = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if not scheme:
            if self.logon is not None:
                return Verdict(200, self.logon.mechanism)
            return self.challenge("none", "no Authorization header")
        if scheme == "basic":
            return self._basic(token)
        if scheme in ("negotiate", "kerberos", "ntlm", "credssp"):
            try:
                return self._step(scheme, base64.b64decode(token.strip()))
            except (SpnegoError, binascii.Error, ValueError) as exc:
                return self.challenge(self._attempted(scheme), f"{type(exc).__name__}: {exc}")
        return self.challenge(scheme, f"unsupported scheme {scheme}")

    def _basic(self, token: str) -> Verdict:
        self.logon, self.sealer, self._context = None, None, None
        if "basic" not in self.settings.mechanisms:
            return self.challenge("basic", "Basic is not enabled on this listener")
        try:
            user, _sep, password = base64.b64decode(token).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return self.challenge("basic", "malformed Basic credentials")
        if (user, password) != (self.settings.user, self.settings.password):
            return self.challenge("basic", "wrong user name or password")
        self.logon = Logon("basic", user, can_delegate=True)
        return Verdict(200, "basic")

    def _attempted(self, scheme: str) -> str:
        return "credssp" if scheme == "credssp" else (self._scheme or scheme)

    def _new_context(self, scheme: str, token: bytes) -> spnego.ContextProxy:
        self.logon, self.sealer = None, None
        kind = "credssp" if scheme == "credssp" else _mechanism_of(token)
        self._scheme = kind
        if kind != "negotiate" and kind not in self.settings.mechanisms:
            raise ValueError(f"{kind} is not enabled on this listener")
        bindings = None
        if self.certificate_hash is not None and kind != "credssp":
            bindings = spnego.channel_bindings.GssChannelBindings(
                application_data=b"tls-server-end-point:" + self.certificate_hash
            )
        extra = {"credssp_tls_context": self.credssp_tls} if kind == "credssp" else {}
        return spnego.server(
            hostname=self.settings.spn_host, service="HTTP", channel_bindings=bindings, protocol=kind, **extra
        )

    def _step(self, scheme: str, token: bytes) -> Verdict:
        if self._context is None or self._context.complete:
            self._context = self._new_context(scheme, token)
        context = self._context
        answer = context.step(token)
        header = f"{_SCHEME_NAMES[scheme]} {base64.b64encode(answer or b'').decode('ascii')}"
        if not context.complete:
            return Verdict(401, self._attempted(scheme), {"WWW-Authenticate": header.strip()})
        mechanism = "credssp" if scheme == "credssp" else context.negotiated_protocol
        if mechanism not in self.settings.mechanisms:
            return self.challenge(mechanism, f"{mechanism} is not enabled on this listener")
        user = _user_of(context, mechanism)
        if user.split("@", 1)[0].rsplit("\\", 1)[-1].lower() != self.settings.user.lower():
            return self.challenge(mechanism, f"{user!r} is not this host's account")
        if mechanism == "credssp" and context.get_extra_info("client_credential").password != self.settings.password:
            return self.challenge(mechanism, "the delegated CredSSP password does not log on")
        self.logon = Logon(mechanism, user, _can_delegate(context, mechanism))
        self.sealer = _Sealer(context, mechanism)
        return Verdict(200, mechanism, {"WWW-Authenticate": header.strip()} if answer else {})


def _user_of(context: spnego.ContextProxy, mechanism: str) -> str:
    if mechanism == "credssp":
        credential = context.get_extra_info("client_credential")
        return str(getattr(credential, "username", "") or "")
    return str(context.client_principal or "")


def _can_delegate(context: spnego.ContextProxy, mechanism: str) -> bool:
    """Basic and CredSSP give the server the password; Kerberos only with a forwarded TGT; NTLM never."""
    if mechanism == "credssp":
        return context.get_extra_info("client_credential") is not None
    if mechanism == "kerberos":
        return bool(context.context_attr & spnego.ContextReq.delegate)
    return False


def certificate_hash(der: bytes) -> bytes:
    """tls-server-end-point (RFC 5929): SHA-256 of the server certificate, or its own hash when stronger."""
    certificate = x509.load_der_x509_certificate(der)
    algorithm = certificate.signature_hash_algorithm
    if algorithm is None or re.fullmatch(r"md5|sha1", algorithm.name):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(der)
    return digest.finalize()
