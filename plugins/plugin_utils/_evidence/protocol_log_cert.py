"""The certificate a session sent, as Exchange's protocol logs describe it.

Two formats exist (see EXCHANGE-FACTS.md, "SMTP protocol logs"):

* older: one fact per line - ``*,,Sending certificate`` then
  ``*,<value>,Certificate subject`` / ``Certificate issuer name`` /
  ``Certificate serial number`` / ``Certificate thumbprint`` /
  ``Certificate alternate names``;
* newer (one sample known, field order uncertain): one line whose data holds
  all the values and whose context names them, e.g. ``Sending certificate
  Subject Issuer name Serial number Thumbprint Not before Not after Subject
  alternate names``.

The newer form is parsed defensively: the unambiguous values (a 40-hex
thumbprint, dates, a long hex serial) are found by their shape wherever they
are; the distinguished names and the SAN list are what is left, assigned in
the order the context names them.
"""

from __future__ import annotations

import functools
import re
from typing import cast

ONE_FACT_FIELDS = {
    "certificate subject": "subject",
    "certificate issuer name": "issuer",
    "certificate serial number": "serial",
    "certificate thumbprint": "thumbprint",
    "certificate alternate names": "sans",
    "certificate subject alternate names": "sans",
    "certificate not before": "not_before",
    "certificate not after": "not_after",
}

_THUMBPRINT = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{40}(?![0-9A-Fa-f])")
_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}(?: ?[AP]M)?"
)
_SERIAL = re.compile(r"(?<![\w=])[0-9A-Fa-f]{8,64}(?![\w=])")
# Where one distinguished name ends and the next begins: whitespace (or ;) not
# preceded by the comma that joins a DN's own parts, then an attribute.
_DN_START = re.compile(r"(?<=[^,;\s])[\s;]+(?=(?:CN|E|OU|O|L|S|ST|C|DC|SERIALNUMBER|OID\.[\d.]+)=)")
_ATTRIBUTE = re.compile(r"^(?:CN|E|OU|O|L|S|ST|C|DC|SERIALNUMBER|OID\.[\d.]+)=", re.IGNORECASE)
_FIELD_NAMES = (
    ("subject alternate names", "sans"),
    ("alternate names", "sans"),
    ("issuer name", "issuer"),
    ("issuer", "issuer"),
    ("serial number", "serial"),
    ("thumbprint", "thumbprint"),
    ("not before", "not_before"),
    ("not after", "not_after"),
    ("subject", "subject"),
)


def split_sans(text: str) -> list[str]:
    return [s for s in re.split(r"[\s;,]+", text.strip()) if s and "=" not in s]


def _context_order(context: str) -> list[str]:
    """The field keys in the order the context names them."""
    rest = context.lower().replace("sending certificate", "", 1)
    found: list[tuple[int, str]] = []
    for label, key in _FIELD_NAMES:
        index = rest.find(label)
        while index >= 0:
            if key not in {k for _unused, k in found}:
                found.append((index, key))
            rest = rest[:index] + " " * len(label) + rest[index + len(label) :]
            index = rest.find(label)
    return [key for _unused, key in sorted(found)]


def _split_dns(text: str) -> list[str]:
    parts = [p.strip(" ,;") for p in _DN_START.split(text) if p.strip(" ,;")]
    if len(parts) == 1:
        # Two DNs joined by a comma: split after the first country (Windows prints C= last).
        match = re.search(r"(?<=, C=[A-Za-z]{2}),\s*(?=CN=)", parts[0])
        if match:
            parts = [parts[0][: match.start()], parts[0][match.end() :]]
    return parts


def parse_single_line(data: str, context: str) -> dict[str, object]:
    """The newer one-line form: every value from ``data``, assigned by shape and by the context's order."""
    found: dict[str, object] = {}
    spans: list[tuple[int, int]] = []
    thumbprints = list(_THUMBPRINT.finditer(data))
    if thumbprints:
        found["thumbprint"] = thumbprints[0].group(0).upper()
        spans.append(thumbprints[0].span())
    dates = [m for m in _DATE.finditer(data) if not any(a <= m.start() < b for a, b in spans)]
    order = _context_order(context)
    date_keys = [k for k in order if k in ("not_before", "not_after")] or ["not_before", "not_after"]
    for key, match in zip(date_keys, dates, strict=False):
        found[key] = match.group(0)
        spans.append(match.span())
    for match in _SERIAL.finditer(data):
        if not any(a <= match.start() < b for a, b in spans):
            found["serial"] = match.group(0).upper()
            spans.append(match.span())
            break
    # What is left, in order: runs of text between the values found by shape.
    spans.sort()
    pieces, cursor = [], 0
    for start, end in spans:
        pieces.append(data[cursor:start])
        cursor = end
    pieces.append(data[cursor:])
    dns: list[str] = []
    sans: list[str] = []
    for raw_piece in pieces:
        piece = raw_piece.strip(" ,;\t")
        if not piece:
            continue
        if _ATTRIBUTE.match(piece):
            dn_text, _unused, tail = _dn_then_names(piece)
            dns.extend(_split_dns(dn_text))
            sans.extend(split_sans(tail))
        else:
            sans.extend(split_sans(piece))
    dn_keys = [k for k in order if k in ("subject", "issuer")] or ["subject", "issuer"]
    for key, dn in zip(dn_keys, dns, strict=False):
        found[key] = dn
    found["sans"] = sans
    return found


@functools.lru_cache(maxsize=64)
def _parse_single_line_frozen(data: str, context: str) -> tuple[tuple[tuple[str, object], ...], tuple[str, ...]]:
    found = parse_single_line(data, context)
    sans = cast("list[str]", found.pop("sans"))  # always set, and set last
    return tuple(found.items()), tuple(sans)


def parse_single_line_cached(data: str, context: str) -> dict[str, object]:
    """:func:`parse_single_line`, remembered: a server sends the same few certificates all day.

    Parsing a line by shape costs about 100 microseconds, and a large log repeats
    the same line in every TLS session. Each call returns a new dict (and SAN
    list), with the keys in the same order, as the caller may change it; the
    cache is small and bounded, so memory stays flat.
    """
    items, sans = _parse_single_line_frozen(data, context)
    return {**dict(items), "sans": list(sans)}


def _dn_then_names(piece: str) -> tuple[str, str, str]:
    """Split ``CN=a, O=b, C=US mail.x.com;autodiscover.x.com`` into the DN(s) and the trailing names."""
    tokens = piece.split(" ")
    # Walk back from the end over tokens that are host names (no '=', not after a comma).
    cut = len(tokens)
    while cut > 1 and "=" not in tokens[cut - 1] and "." in tokens[cut - 1] and not tokens[cut - 2].endswith(","):
        cut -= 1
        if "=" in tokens[cut - 1] and not tokens[cut - 1].endswith(","):
            break
    return " ".join(tokens[:cut]), "", " ".join(tokens[cut:])
