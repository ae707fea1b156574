"""Certificate paths: built and validated by ``cryptography.x509.verification``.

``cryptography`` decides whether a path exists. When it does not, it only says
"candidates exhausted", so this module then walks the issuer links itself --
never to judge the path, only to NAME the gap: the issuer DN and key
identifier no store holds, the expired intermediate, the untrusted root.

Results are cached per (issuer, AKI, signature hash, validity) of the leaf for
one set of store contents, so a host with thousands of certificates from a
handful of CAs costs a handful of verifications.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import pairwise

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    Certificate,
    parse_certificate,
)

VALID = "valid"
INCOMPLETE = "incomplete"
UNTRUSTED_ROOT = "untrusted_root"
EXPIRED_INTERMEDIATE = "expired_intermediate"
INVALID = "invalid"

_MAX_DEPTH = 8
# Signature hashes cryptography's path builder refuses outright (web-PKI policy). A path whose only
# fault is such a link does chain: it is reported as weak_signature, not as a broken chain.
WEAK_SIGNATURE_HASHES = ("sha1", "md5", "md2")
# Where a library message turns into its internal debug representation: never shown to a user.
_DEBUG_MARKERS = (" {", "AlgorithmIdentifier", "PhantomData", "DefinedByMarker", "Some(")


def readable_error(text: str) -> str:
    """A verification error without the library's debug representation of its internals."""
    cut = min((text.find(marker) for marker in _DEBUG_MARKERS if marker in text), default=len(text))
    return text[:cut].rstrip(" :") or "the path does not validate"


@dataclass(frozen=True)
class MissingIssuer:
    """The issuer no store holds: its DN (Windows rendering) and key identifier."""

    dn: str
    key_id: str | None
    needed_by_subject: str
    needed_by_thumbprint: str

    def to_dict(self) -> dict:
        return {
            "issuer": self.dn,
            "authority_key_id": self.key_id,
            "needed_by": self.needed_by_subject,
            "needed_by_thumbprint": self.needed_by_thumbprint,
        }


@dataclass(frozen=True)
class ChainResult:
    status: str
    path: tuple[Certificate, ...]  # leaf first; the anchor last when valid
    missing: MissingIssuer | None = None
    untrusted_root: Certificate | None = None
    expired: tuple[Certificate, ...] = ()
    error: str | None = None
    warnings: tuple[str, ...] = field(default=())
    weak_signed: tuple[Certificate, ...] = ()  # links (not the anchor) signed with a hash TLS clients refuse

    @property
    def ok(self) -> bool:
        return self.status == VALID

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "path": [{"thumbprint": c.thumbprint, "subject": c.subject_str} for c in self.path],
            "missing_issuer": self.missing.to_dict() if self.missing else None,
            "untrusted_root": None
            if self.untrusted_root is None
            else {"thumbprint": self.untrusted_root.thumbprint, "subject": self.untrusted_root.subject_str},
            "expired_intermediates": [
                {"thumbprint": c.thumbprint, "subject": c.subject_str, "not_after": c.not_after.isoformat()}
                for c in self.expired
            ],
            "error": self.error,
            "warnings": list(self.warnings),
            "weak_signed": [
                {"thumbprint": c.thumbprint, "subject": c.subject_str, "signature_hash": c.signature_hash}
                for c in self.weak_signed
            ],
        }


def _policies() -> tuple[verification.ExtensionPolicy, verification.ExtensionPolicy]:
    """Web-PKI rules for CAs, relaxed only where enterprise CAs deviate (no AKI)."""
    ca = verification.ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.AuthorityKeyIdentifier, verification.Criticality.AGNOSTIC, None
    )
    # The leaf is judged by the checks (names, EKU, key), not by the path builder.
    ee = verification.ExtensionPolicy.permit_all()
    return ca, ee


def _by_thumbprint(certs: Iterable[Certificate]) -> dict[str, Certificate]:
    """Each certificate once, in thumbprint order (deterministic whatever order the host listed them in)."""
    seen = {c.thumbprint: c for c in certs}
    return {t: seen[t] for t in sorted(seen)}  # sorting the strings alone is much cheaper than a key function


class ChainVerifier:
    """Verifies leaves against one fixed set of intermediates and trust anchors."""

    def __init__(self, intermediates: Sequence[Certificate], anchors: Sequence[Certificate], now: dt.datetime) -> None:
        self.intermediates = tuple(_by_thumbprint(intermediates).values())
        self._anchor_by_thumbprint = _by_thumbprint(anchors)
        self.anchors = tuple(self._anchor_by_thumbprint.values())
        self.now = now
        self._store = verification.Store([c.cert for c in self.anchors]) if self.anchors else None
        self._intermediate_x509 = [c.cert for c in self.intermediates]
        self._cache: dict[tuple, ChainResult] = {}

    @cached_property
    def _pool(self) -> tuple[Certificate, ...]:
        """Every certificate that can issue: anchors first, each thumbprint once."""
        seen: dict[str, Certificate] = {}
        for cert in self.anchors + self.intermediates:
            seen.setdefault(cert.thumbprint, cert)
        return tuple(seen.values())

    @cached_property
    def _blob(self) -> tuple[bytes, list[int]]:
        """Every pool certificate's DER end to end, and where each one starts (for one C-level search)."""
        starts, offset = [], 0
        for cert in self._pool:
            starts.append(offset)
            offset += len(cert.der)
        return b"".join(c.der for c in self._pool), starts

    def _containing(self, needle: bytes) -> list[Certificate]:
        """Pool certificates whose DER contains ``needle``."""
        blob, starts = self._blob
        found: list[Certificate] = []
        at = blob.find(needle)
        while at >= 0:
            index = bisect_right(starts, at) - 1
            end = starts[index] + len(self._pool[index].der)
            if at + len(needle) <= end:
                found.append(self._pool[index])
                at = blob.find(needle, end)  # one hit per certificate is enough
            else:  # a match straddling two certificates is no match
                at = blob.find(needle, at + 1)
        return found

    @cached_property
    def _intermediate_by_id(self) -> dict[int, Certificate]:
        # cryptography's verified chain holds the very x509 objects it was given: identity finds them.
        return {id(c.cert): c for c in self.intermediates}

    def is_anchor(self, cert: Certificate) -> bool:
        return cert.thumbprint in self._anchor_by_thumbprint

    def verify(self, leaf: Certificate) -> ChainResult:
        if leaf.is_self_signed:
            key: tuple = ("self", leaf.thumbprint)
        else:
            valid_now = leaf.is_valid_at(self.now)
            key = (leaf.issuer_key, leaf.aki, leaf.signature_hash, leaf.has_aki_extension, valid_now)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._verify(leaf)
            self._cache[key] = cached
        if cached.path[0] == leaf:
            return cached
        # Same issuer, same outcome: only the leaf at the head of the path differs.
        missing = cached.missing
        if missing is not None and len(cached.path) == 1:
            missing = MissingIssuer(missing.dn, missing.key_id, leaf.subject_str, leaf.thumbprint)
        return replace(cached, path=(leaf, *cached.path[1:]), missing=missing)

    def _verify(self, leaf: Certificate) -> ChainResult:
        warnings: list[str] = []
        if not leaf.has_aki_extension and not leaf.is_self_signed:
            warnings.append(
                "the certificate has no Authority Key Identifier (common from older enterprise CAs); "
                "accepted, but web-PKI clients may reject it"
            )
        error = None
        if self._store is not None:
            # An expired leaf is reported by the expiry checks; judge its path at a moment it was valid.
            moment = min(max(self.now, leaf.not_before), leaf.not_after)
            ca_policy, ee_policy = _policies()
            verifier = (
                verification.PolicyBuilder()
                .store(self._store)
                .time(moment)
                .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
                .build_client_verifier()
            )
            try:
                verified = verifier.verify(leaf.cert, self._intermediate_x509)
            except verification.VerificationError as exc:
                error = readable_error(str(exc))
            else:
                path = tuple(self._lookup(c, leaf) for c in verified.chain)
                return ChainResult(VALID, path, warnings=tuple(warnings))
        else:
            error = "the host trusts no root certificates"
        return self._explain(leaf, error, tuple(warnings))

    def _lookup(self, cert: x509.Certificate, leaf: Certificate) -> Certificate:
        if cert is leaf.cert or cert == leaf.cert:
            return leaf
        known = self._intermediate_by_id.get(id(cert))
        if known is None:  # the anchor (one per path): found by thumbprint, no index of thousands of roots
            known = self._anchor_by_thumbprint.get(cert.fingerprint(hashes.SHA1()).hex().upper())  # noqa: S303
        return known or parse_certificate(cert.public_bytes(Encoding.DER))

    def _issuers_of(self, cert: Certificate, path: Sequence[Certificate]) -> list[Certificate]:
        """Certificates whose subject is ``cert``'s issuer name, as cryptography's path builder matches it.

        The builder matches names as encoded, so a byte search for the encoded issuer name over each
        candidate's DER (in C, a few microseconds for a thousand roots) finds every possible issuer
        without decoding the names of thousands of unrelated roots; a hit is an issuer when its encoded
        subject is exactly that name.
        """
        needle = cert.issuer_name_der
        candidates = [
            c
            for c in self._containing(needle)
            if c.subject_name_der == needle
            and c not in path
            and (cert.aki is None or c.ski is None or c.ski == cert.aki)
        ]
        # Prefer a trust anchor, then one valid now, then the newest.
        return sorted(
            candidates,
            key=lambda c: (not self.is_anchor(c), not c.is_valid_at(self.now), -c.not_before.timestamp(), c.thumbprint),
        )

    def _explain(self, leaf: Certificate, error: str | None, warnings: tuple[str, ...]) -> ChainResult:
        """Walk issuer links to name what is missing (naming only; cryptography already judged)."""
        path: list[Certificate] = [leaf]
        expired: list[Certificate] = []
        current = leaf
        for _unused in range(_MAX_DEPTH):
            if self.is_anchor(current):
                break
            if current.is_self_signed:
                return ChainResult(
                    UNTRUSTED_ROOT,
                    tuple(path),
                    untrusted_root=current,
                    expired=tuple(expired),
                    error=error,
                    warnings=warnings,
                )
            issuers = self._issuers_of(current, path)
            if not issuers:
                missing = MissingIssuer(current.issuer_str, current.aki, current.subject_str, current.thumbprint)
                return ChainResult(
                    INCOMPLETE, tuple(path), missing=missing, expired=tuple(expired), error=error, warnings=warnings
                )
            current = issuers[0]
            if current is not leaf and not current.is_valid_at(self.now):
                expired.append(current)
            path.append(current)
        if expired:
            return ChainResult(
                EXPIRED_INTERMEDIATE, tuple(path), expired=tuple(expired), error=error, warnings=warnings
            )
        weak = _weak_links(path) if self.is_anchor(path[-1]) else None
        if weak:
            return ChainResult(VALID, tuple(path), warnings=warnings, weak_signed=weak)
        return ChainResult(INVALID, tuple(path), error=error, warnings=warnings)


def _weak_links(path: Sequence[Certificate]) -> tuple[Certificate, ...] | None:
    """The weakly signed links of a path that reaches an anchor, when that is its only fault.

    None when no link is weakly signed, or when a signature does not verify under its issuer's key
    (then the path is invalid for another reason, and cryptography's verdict stands).
    """
    weak = tuple(c for c in path[:-1] if c.signature_hash in WEAK_SIGNATURE_HASHES)
    if not weak:
        return None
    if not all(_signed_by(subject.cert, issuer.cert) for subject, issuer in pairwise(path)):
        return None
    return weak


def _signed_by(subject: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key made ``subject``'s signature, whatever hash it used.

    ``verify_directly_issued_by`` refuses SHA-1 outright; the signature itself is still checked
    here with the issuer's public key, so that "weakly signed" never means "not signed".
    """
    try:
        subject.verify_directly_issued_by(issuer)
        return True
    except InvalidSignature:
        return False
    except (ValueError, TypeError):  # an algorithm the verifier refuses: check the signature by hand
        pass
    key, algorithm = issuer.public_key(), subject.signature_hash_algorithm
    if algorithm is None or subject.issuer != issuer.subject:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(subject.signature, subject.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(subject.signature, subject.tbs_certificate_bytes, ec.ECDSA(algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


_VERIFIERS: dict[tuple, ChainVerifier] = {}
_MAX_VERIFIERS = 64


def clear_cache() -> None:
    _VERIFIERS.clear()


def chain_verifier(
    intermediates: Sequence[Certificate], anchors: Sequence[Certificate], now: dt.datetime
) -> ChainVerifier:
    """A verifier for these store contents, shared across analyses of identical stores."""
    key = (
        frozenset(c.thumbprint for c in intermediates),
        frozenset(c.thumbprint for c in anchors),
        now,
    )
    verifier = _VERIFIERS.get(key)
    if verifier is None:
        if len(_VERIFIERS) >= _MAX_VERIFIERS:
            _VERIFIERS.clear()
        verifier = ChainVerifier(intermediates, anchors, now)
        _VERIFIERS[key] = verifier
    return verifier
