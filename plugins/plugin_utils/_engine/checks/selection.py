"""Which certificate Exchange presents: its documented selection, predicted.

Inbound STARTTLS (documented): candidates are the certificates in
``LocalMachine\\My`` whose issuer and subject match the connector's
``TlsCertificateName`` (else whose subject or SAN matches the connector FQDN,
else the server FQDN); a candidate needs a private key; newest NotBefore
first; the first valid CA-issued one wins, else the first self-signed one; an
expired winner is still used. Outbound selection is undocumented, so a name
that matches several copies is drift in itself: every copy could be presented.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import (
    name_key,
    parse_tls_certificate_name,
    plain_name_key,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import (
    Snapshot,
    StoredCertificate,
)

BY_TLS_NAME = "tls_certificate_name"
BY_FQDN = "connector_fqdn"
BY_SERVER_FQDN = "server_fqdn"


@dataclass(frozen=True)
class Selection:
    matched_by: str
    target: str  # the TlsCertificateName or FQDN that was matched
    # Every copy that matches, with or without a key (by FQDN: only copies with a key, the only ones selected).
    matches: tuple[StoredCertificate, ...]
    candidates: tuple[StoredCertificate, ...]  # matches with a private key, in Exchange's order
    winner: StoredCertificate | None

    @property
    def ambiguous(self) -> bool:
        """A TlsCertificateName that names more than one copy."""
        return self.matched_by == BY_TLS_NAME and len(self.matches) > 1

    @property
    def could_present(self) -> tuple[StoredCertificate, ...]:
        """Copies an outbound session might present (all matches when ambiguous)."""
        if self.ambiguous:
            return self.matches
        return (self.winner,) if self.winner is not None else ()


def _host_name_key(text: str) -> tuple:
    key = plain_name_key(text)
    return key if key is not None else name_key(text)


@lru_cache(maxsize=65536)
def _key_of_host_strings(issuer: str, subject: str) -> tuple | None:
    try:
        issuer_key = _host_name_key(issuer)
        return (issuer_key, issuer_key if subject == issuer else _host_name_key(subject))
    except InputError:
        return None


def clear_cache() -> None:
    _key_of_host_strings.cache_clear()


def group_key(item: StoredCertificate) -> tuple:
    """Issuer + subject, compared by parsed form: what TlsCertificateName identifies.

    Parsed from the host's own strings, once per pair of strings (an analysis asks for
    every copy's key many times): cheaper than rendering every certificate's names,
    and it is what Exchange itself compares.
    """
    key = _key_of_host_strings(item.issuer_str, item.subject_str)
    if key is None:  # a host string we cannot parse: fall back to the certificate's own names
        return (name_key(item.certificate.issuer_dn), name_key(item.certificate.subject_dn))
    return key


def tls_name_key(tls_certificate_name: str) -> tuple | None:
    """The group key a TlsCertificateName names, or None when it cannot be parsed."""
    try:
        issuer, subject = parse_tls_certificate_name(tls_certificate_name)
        return (name_key(issuer), name_key(subject))
    except InputError:
        return None


def certificates_named(snapshot: Snapshot, tls_certificate_name: str) -> tuple[StoredCertificate, ...]:
    """Every certificate in My whose issuer and subject match the TlsCertificateName."""
    wanted = tls_name_key(tls_certificate_name)
    if wanted is None:
        return ()
    return tuple(item for item in snapshot.store("My") if group_key(item) == wanted)


class StoreIndex:
    """One store's certificates looked up by issuer + subject and by the text they hold, built once.

    A host may keep thousands of certificates in My; every connector's selection and every copy's
    bound check would otherwise scan all of them again.
    """

    def __init__(self, items: Sequence[StoredCertificate], earlier: StoreIndex | None = None) -> None:
        self.items = tuple(items)
        self._earlier = earlier

    def changed_to(self, items: Sequence[StoredCertificate]) -> StoreIndex:
        """The index of ``items``, a later state of this store (a plan's end state), answered from this one.

        A copy keeps its DER, names and so its answers; only copies this index has never seen are looked at.
        """
        return StoreIndex(items, self)

    @cached_property
    def _later_copies(self) -> tuple[dict[str, StoredCertificate], tuple[StoredCertificate, ...]]:
        """This store's copies by thumbprint, and those the earlier index does not hold as they are now.

        A copy the plan changed (an import gave it its private key) is a new object: it is looked at again.
        """
        known = self._earlier.by_thumbprint if self._earlier is not None else {}
        present = self.by_thumbprint
        return present, tuple(item for item in self.items if known.get(item.thumbprint) is not item)

    @cached_property
    def by_thumbprint(self) -> dict[str, StoredCertificate]:
        return {item.thumbprint: item for item in self.items}

    def _carried(
        self, earlier: tuple[StoredCertificate, ...], also: tuple[StoredCertificate, ...]
    ) -> tuple[StoredCertificate, ...]:
        present, _new = self._later_copies
        order = {thumbprint: position for position, thumbprint in enumerate(present)}
        found = {item.thumbprint for item in earlier if item.thumbprint in present} | {i.thumbprint for i in also}
        return tuple(present[t] for t in sorted(found, key=order.__getitem__))

    @cached_property
    def by_group(self) -> dict[tuple, tuple[StoredCertificate, ...]]:
        """group_key -> the copies with that issuer + subject, in store order."""
        out: dict[tuple, list[StoredCertificate]] = {}
        for item in self.items:
            out.setdefault(group_key(item), []).append(item)
        return {key: tuple(copies) for key, copies in out.items()}

    def named(self, tls_certificate_name: str) -> tuple[StoredCertificate, ...]:
        """``certificates_named`` from the index."""
        wanted = tls_name_key(tls_certificate_name)
        if wanted is None:
            return ()
        if self._earlier is not None:
            _present, new = self._later_copies
            also = tuple(item for item in new if group_key(item) == wanted)
            return self._carried(self._earlier.named(tls_certificate_name), also)
        return self.by_group.get(wanted, ())

    @cached_property
    def _keyed(self) -> tuple[StoredCertificate, ...]:
        return tuple(item for item in self.items if item.has_private_key)

    @cached_property
    def _texts(self) -> tuple[tuple[bytes, list[int]], tuple[str, list[int]]]:
        """Every keyed copy's DER (lower-cased) and subject (case-folded) end to end, with where each starts."""
        ders = [item.certificate.der for item in self._keyed]
        subjects = [item.subject_str.casefold() for item in self._keyed]
        return (b"".join(ders).lower(), _starts(ders)), ("".join(subjects), _starts(subjects))

    def may_name(self, fqdn: str) -> tuple[StoredCertificate, ...]:
        """The copies with a private key ``_may_name`` keeps, in store order: one search per needle over all.

        Only a copy with a private key can be selected by FQDN, so the others are not searched.
        """
        if self._earlier is not None:
            return self._carried(self._earlier.may_name(fqdn), self._later_copies[1])
        host = fqdn.rstrip(".").casefold()
        if not host.isascii():
            return self._keyed
        parent = host.partition(".")[2]
        needles = (host, f"*.{parent}") if parent else (host,)
        (der_blob, der_starts), (subject_blob, subject_starts) = self._texts
        hits: set[int] = set()
        for needle in needles:
            hits.update(_containing(der_blob, der_starts, needle.encode("ascii")))
            hits.update(_containing(subject_blob, subject_starts, needle))
        return tuple(self._keyed[index] for index in sorted(hits))


def _starts(parts: Sequence[bytes | str]) -> list[int]:
    starts, offset = [], 0
    for part in parts:
        starts.append(offset)
        offset += len(part)
    starts.append(offset)  # the end of the last part
    return starts


def _containing(blob: bytes | str, starts: list[int], needle: bytes | str) -> list[int]:
    """Indexes of the parts (delimited by ``starts``) that contain ``needle`` whole."""
    found: list[int] = []
    at = blob.find(needle)  # type: ignore[arg-type]
    while at >= 0:
        index = bisect_right(starts, at) - 1
        if at + len(needle) <= starts[index + 1]:
            found.append(index)
            at = blob.find(needle, starts[index + 1])  # type: ignore[arg-type]
        else:  # straddles two parts: no match
            at = blob.find(needle, at + 1)  # type: ignore[arg-type]
    return found


def dns_matches(pattern: str, host: str) -> bool:
    """RFC 6125 matching: case-insensitive, a wildcard only as the whole left-most label."""
    pattern, host = pattern.rstrip(".").casefold(), host.rstrip(".").casefold()
    if pattern == host:
        return True
    if pattern.startswith("*.") and "*" not in pattern[2:]:
        head, _unused, rest = host.partition(".")
        return bool(head) and rest == pattern[2:] and "." in rest
    return False


def covers(item_sans: tuple[str, ...], common_name: str | None, host: str) -> bool:
    """True when a certificate's SAN (or, lacking any SAN, its CN) covers ``host``."""
    names = item_sans if item_sans else ((common_name,) if common_name else ())
    return any(dns_matches(n, host) for n in names)


def _may_name(item: StoredCertificate, fqdn: str) -> bool:
    """A cheap and exact pre-test: False only when the certificate cannot name ``fqdn``.

    A SAN dNSName is an IA5String, so it sits in the DER as literal ASCII; the CN is
    in the subject as the host renders it. Either holds the name itself or, for a
    wildcard, ``*.`` and the parent domain. Parsing a certificate's names costs far
    more than these substring tests, and a host may keep thousands of copies in My.
    """
    host = fqdn.rstrip(".").casefold()
    if not host.isascii():
        return True  # internationalised names: leave them to the full comparison
    parent = host.partition(".")[2]
    needles = (host, f"*.{parent}") if parent else (host,)
    der = item.certificate.der.lower()
    subject = item.subject_str.casefold()
    return any(needle.encode("ascii") in der or needle in subject for needle in needles)


def _matches_fqdn(item: StoredCertificate, fqdn: str) -> bool:
    if not _may_name(item, fqdn):
        return False
    cert = item.certificate
    if cert.common_name and dns_matches(cert.common_name, fqdn):
        return True
    return any(dns_matches(n, fqdn) for n in cert.sans)


def _exchange_order(items: tuple[StoredCertificate, ...]) -> tuple[StoredCertificate, ...]:
    return tuple(sorted(items, key=lambda i: (-i.certificate.not_before.timestamp(), i.thumbprint)))


def _pick(candidates: tuple[StoredCertificate, ...], now: dt.datetime) -> StoredCertificate | None:
    for item in candidates:
        if not item.certificate.is_self_signed and item.certificate.is_valid_at(now):
            return item
    for item in candidates:
        if item.certificate.is_self_signed:
            return item
    # An expired (or not yet valid) winner is still used.
    return candidates[0] if candidates else None


def predict(
    snapshot: Snapshot,
    tls_certificate_name: str | None,
    fqdn: str | None,
    now: dt.datetime,
    *,
    index: StoreIndex | None = None,
) -> Selection:
    """The certificate Exchange should present for a connector with these settings.

    ``index`` is My's index when the caller built one (it predicts for every connector).
    """
    if tls_certificate_name:
        matched_by, target = BY_TLS_NAME, tls_certificate_name
        if index is not None:
            matches = index.named(tls_certificate_name)
        else:
            matches = certificates_named(snapshot, tls_certificate_name)
    else:
        matched_by, target = (BY_FQDN, fqdn) if fqdn else (BY_SERVER_FQDN, snapshot.host.fqdn)
        pool = index.may_name(target) if index is not None else snapshot.store("My")
        matches = tuple(i for i in pool if i.has_private_key and _matches_fqdn(i, target))
    matches = _exchange_order(matches)
    candidates = tuple(i for i in matches if i.has_private_key)
    return Selection(matched_by, target, matches, candidates, _pick(candidates, now))
