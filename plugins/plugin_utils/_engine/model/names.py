"""Distinguished names the way Windows prints them, compared by their parsed form.

Windows renders a DN most-specific first (``CN=x, OU=y, O=z, L=c, S=st, C=US``),
writes ``S=`` for the state and quotes values that hold a comma. X.509 stores
the country first. Two names are the same when they hold the same multiset of
(attribute type, value) pairs, values compared case-insensitively with runs
of whitespace folded: that is how the certificate store matches names too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

from cryptography import x509
from cryptography.x509.oid import NameOID

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError

# X.509 attribute OIDs and the short names Windows prints for them.
_OID_TO_TYPE: dict[str, str] = {
    NameOID.COMMON_NAME.dotted_string: "CN",
    NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string: "OU",
    NameOID.ORGANIZATION_NAME.dotted_string: "O",
    NameOID.LOCALITY_NAME.dotted_string: "L",
    NameOID.STATE_OR_PROVINCE_NAME.dotted_string: "S",
    NameOID.COUNTRY_NAME.dotted_string: "C",
    NameOID.EMAIL_ADDRESS.dotted_string: "E",
    NameOID.SERIAL_NUMBER.dotted_string: "SERIALNUMBER",
    NameOID.DOMAIN_COMPONENT.dotted_string: "DC",
    NameOID.STREET_ADDRESS.dotted_string: "STREET",
    NameOID.POSTAL_CODE.dotted_string: "PostalCode",
    NameOID.TITLE.dotted_string: "T",
    NameOID.GIVEN_NAME.dotted_string: "G",
    NameOID.SURNAME.dotted_string: "SN",
    NameOID.USER_ID.dotted_string: "UID",
}
# Every spelling a host or a user may write, mapped to one canonical type.
_ALIASES: dict[str, str] = {
    "CN": "CN",
    "OU": "OU",
    "O": "O",
    "L": "L",
    "S": "S",
    "ST": "S",
    "C": "C",
    "E": "E",
    "EMAIL": "E",
    "EMAILADDRESS": "E",
    "SERIALNUMBER": "SERIALNUMBER",
    "DC": "DC",
    "STREET": "STREET",
    "POSTALCODE": "PostalCode",
    "T": "T",
    "TITLE": "T",
    "G": "G",
    "GIVENNAME": "G",
    "SN": "SN",
    "SURNAME": "SN",
    "UID": "UID",
}
_LOWER_ALIASES: dict[str, str] = {alias.lower(): canonical for alias, canonical in _ALIASES.items()}
_MUST_QUOTE = set(',+=";<>#\n')


def _canonical_type(raw: str, text: str) -> str:
    key = raw.strip()
    upper = key.upper()
    if upper.startswith("OID."):
        dotted = key[4:]
    elif key and key[0].isdigit():
        dotted = key
    else:
        canonical = _ALIASES.get(upper)
        if canonical is None:
            raise InputError(f"distinguished name {text!r}: unknown attribute type {key!r}")
        return canonical
    if not all(part.isdigit() for part in dotted.split(".")):
        raise InputError(f"distinguished name {text!r}: {key!r} is not a valid OID attribute type")
    return _OID_TO_TYPE.get(dotted, f"OID.{dotted}")


def fold_value(value: str) -> str:
    """A value as the comparison sees it: case-folded, whitespace runs folded."""
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class DistinguishedName:
    """A parsed DN: (type, value) pairs in the order they were written."""

    attributes: tuple[tuple[str, str], ...]
    text: str

    @cached_property
    def key(self) -> tuple[tuple[str, str], ...]:
        """Order-insensitive comparison key (a sorted multiset of normalised pairs)."""
        return tuple(sorted((t, fold_value(v)) for t, v in self.attributes))

    def get(self, attribute_type: str) -> list[str]:
        wanted = _ALIASES.get(attribute_type.upper(), attribute_type)
        return [v for t, v in self.attributes if t == wanted]

    def __str__(self) -> str:
        return self.text


def _split(text: str, separators: str) -> list[str]:
    """Split outside quotes; keeps quotes for the value parser.

    Windows quotes a value instead of escaping characters in it (CertNameToStr,
    CERT_X500_NAME_STR: a value holding ``, + = " < > # ;``, a newline or
    leading/trailing spaces is put in double quotes, an inner quote doubled). A
    backslash is an ordinary character there: ``O=Contoso\\Europe`` is the value
    ``Contoso\\Europe``.
    """
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    for ch in text:
        if ch == '"':
            in_quotes = not in_quotes  # a doubled quote toggles twice: still inside
        if ch in separators and not in_quotes:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if in_quotes:
        raise InputError(f"distinguished name {text!r}: a quoted value is not closed")
    parts.append("".join(current))
    return parts


def _unquote(raw: str, text: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        # Windows doubles a quote inside a quoted value.
        return value[1:-1].replace('""', '"')
    if '"' in value:
        raise InputError(f"distinguished name {text!r}: stray quote in value {value!r}")
    return value


def parse_windows_dn(text: str) -> DistinguishedName:
    """Parse ``CN=a, OU=b, O="x, y", S=st, C=US`` (also ``;`` and ``+`` separated)."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"distinguished name {text!r} is empty")
    return _parse_cached(text)


@lru_cache(maxsize=16384)
def _parse_cached(text: str) -> DistinguishedName:
    if '"' not in text and ";" not in text and "+" not in text:
        # The common case, without quoting: a plain split is exact and much cheaper.
        attributes = []
        for part in text.split(","):
            raw_type, sep, raw_value = part.partition("=")
            if not sep or not part.strip():
                break
            canonical = _ALIASES.get(raw_type.strip().upper())
            if canonical is None:
                break
            attributes.append((canonical, raw_value.strip()))
        else:
            return DistinguishedName(tuple(attributes), text)
    attributes = []
    for part in _split(text, ",;+"):
        if not part.strip():
            raise InputError(f"distinguished name {text!r}: empty component")
        if "=" not in part:
            raise InputError(f"distinguished name {text!r}: component {part.strip()!r} has no '='")
        raw_type, raw_value = part.split("=", 1)
        attributes.append((_canonical_type(raw_type, text), _unquote(raw_value, text)))
    return DistinguishedName(tuple(attributes), text)


def plain_name_key(text: str) -> tuple[tuple[str, str], ...] | None:
    """``parse_windows_dn(text).key`` for an ASCII name without quotes, ``;`` or ``+``; None for any other.

    Grouping thousands of certificates by name asks for one key per distinct name: this skips the
    parsed object and its cache, and gives the very key the full parser would (for ASCII text,
    lower-casing the whole name once is the per-value case fold, and the type lookup is unchanged).
    """
    if not text.isascii() or '"' in text or ";" in text or "+" in text or not text.strip():
        return None
    attributes = []
    for part in text.lower().split(","):
        raw_type, sep, raw_value = part.partition("=")
        canonical = _LOWER_ALIASES.get(raw_type.strip()) if sep else None
        if canonical is None:
            return None
        attributes.append((canonical, " ".join(raw_value.split())))
    attributes.sort()
    return tuple(attributes)


def clear_cache() -> None:
    _parse_cached.cache_clear()


def _value_text(value: object) -> str:
    return value if isinstance(value, str) else bytes(value).hex()  # type: ignore[arg-type]


def name_from_x509(name: x509.Name) -> DistinguishedName:
    """The parsed form of a certificate's name, in Windows order (most specific first)."""
    attributes = tuple(
        (_OID_TO_TYPE.get(attr.oid.dotted_string, f"OID.{attr.oid.dotted_string}"), _value_text(attr.value))
        for rdn in reversed(name.rdns)
        for attr in rdn
    )
    return DistinguishedName(attributes, format_windows_dn(name))


def x509_name_key(name: x509.Name) -> tuple[tuple[str, str], ...]:
    """``name_from_x509(name).key`` without rendering the Windows string (the chain index needs only this)."""
    return tuple(
        sorted(
            (
                _OID_TO_TYPE.get(attr.oid.dotted_string, f"OID.{attr.oid.dotted_string}"),
                fold_value(_value_text(attr.value)),
            )
            for attr in name
        )
    )


def _quote(value: str) -> str:
    if value != value.strip() or any(c in _MUST_QUOTE for c in value):
        return '"' + value.replace('"', '""') + '"'
    return value


def format_windows_dn(name: x509.Name) -> str:
    """Render an X.509 name the way Windows' ``.Subject`` does."""
    rdns = []
    for rdn in reversed(name.rdns):
        rdns.append(
            " + ".join(
                f"{_OID_TO_TYPE.get(a.oid.dotted_string, 'OID.' + a.oid.dotted_string)}={_quote(_value_text(a.value))}"
                for a in rdn
            )
        )
    return ", ".join(rdns)


NameLike = str | x509.Name | DistinguishedName


def as_dn(value: NameLike) -> DistinguishedName:
    if isinstance(value, DistinguishedName):
        return value
    if isinstance(value, x509.Name):
        return name_from_x509(value)
    return parse_windows_dn(value)


def name_key(value: NameLike) -> tuple[tuple[str, str], ...]:
    """The comparison key of any name form (used to group certificates)."""
    return as_dn(value).key


def names_equal(a: NameLike, b: NameLike) -> bool:
    """True when both names hold the same (type, normalised value) multiset."""
    return as_dn(a).key == as_dn(b).key


def build_tls_certificate_name(issuer_str: str, subject_str: str) -> str:
    """Exchange's ``TlsCertificateName``: ``<I>issuer<S>subject`` with the host's strings."""
    return f"<I>{issuer_str}<S>{subject_str}"


def _subject_marker(text: str) -> int:
    """Where the ``<S>`` that ends the issuer starts: the first one outside a quoted value.

    Exchange writes ``<I>`` + the issuer + ``<S>`` + the subject, each as Windows renders it, and
    that rendering quotes every value holding ``<`` or ``>``: a ``<S>`` inside an issuer's value is
    always between quotes, so the first one outside quotes is the separator.
    """
    in_quotes = False
    for index, ch in enumerate(text):
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and text.startswith("<S>", index):
            return index
    return -1


def parse_tls_certificate_name(text: str) -> tuple[str, str]:
    """Split ``<I>issuer<S>subject`` into (issuer, subject); both must be DNs."""
    if not isinstance(text, str) or not text.startswith("<I>"):
        raise InputError(f"TlsCertificateName {text!r} is not of the form '<I>issuer<S>subject'")
    marker = _subject_marker(text[3:])
    if marker < 0:
        raise InputError(f"TlsCertificateName {text!r} is not of the form '<I>issuer<S>subject'")
    issuer, subject = text[3 : 3 + marker], text[3 + marker + 3 :]
    if not issuer.strip() or not subject.strip():
        raise InputError(f"TlsCertificateName {text!r} has an empty issuer or subject")
    parse_windows_dn(issuer)
    parse_windows_dn(subject)
    return issuer, subject
