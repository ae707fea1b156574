"""A certificate's issuer and subject names as encoded, sliced out of its DER without decoding them."""

from __future__ import annotations


def _tlv(der: bytes, at: int) -> tuple[int, int]:
    """(start of contents, end) of the DER element whose tag is at ``at``."""
    first = der[at + 1]
    if first < 0x80:
        return at + 2, at + 2 + first
    start = at + 2 + (first & 0x7F)
    return start, start + int.from_bytes(der[at + 2 : start], "big")


_SEQUENCE, _INTEGER, _VERSION = 0x30, 0x02, 0xA0


def tbs_name_ders(der: bytes) -> tuple[bytes, bytes] | None:
    """The encoded issuer and subject names, sliced out of a certificate's DER; None if the shape is unexpected.

    Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER,
    signature AlgorithmIdentifier, issuer Name, validity Validity, subject Name, ... }, ... }.
    Only element boundaries are read (no values are decoded): a few microseconds, where asking
    ``cryptography`` for the names builds Python objects for every attribute.
    """
    try:
        at, _end = _tlv(der, 0)
        at, _end = _tlv(der, at)  # into tbsCertificate
        if der[at] == _VERSION:
            at = _tlv(der, at)[1]
        if der[at] != _INTEGER:
            return None
        at = _tlv(der, at)[1]  # serialNumber
        at = _tlv(der, at)[1]  # signature
        issuer_at, at = at, _tlv(der, at)[1]
        at = _tlv(der, at)[1]  # validity
        subject_at, subject_end = at, _tlv(der, at)[1]
    except IndexError:
        return None
    if der[issuer_at] != _SEQUENCE or der[subject_at] != _SEQUENCE or subject_end > len(der):
        return None
    return der[issuer_at : _tlv(der, issuer_at)[1]], der[subject_at:subject_end]
