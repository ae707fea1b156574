# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings as short terminal lines, and whether they reach the user's failure threshold.

A finding's message names certificates by their full thumbprint and full
distinguished names, which is right for the report and too long for a
terminal: here a thumbprint keeps its first 8 digits (what Windows admins
compare at a glance) and a distinguished name keeps its CN and O (the two
parts that tell a renewal with a new organisation from the old one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

THRESHOLDS = ("error", "warning", "never")
_RANK = {"error": 2, "warning": 1}
_THUMBPRINT = re.compile(r"\b[0-9A-Fa-f]{40}\b")
_RDN = r"(?:CN|OU|O|L|S|ST|C|E|DC|SERIALNUMBER|STREET|PostalCode)=[^,'<>()]*"
_DN = re.compile(rf"\b{_RDN}(?:, {_RDN})+")
_KEPT_RDNS = ("CN=", "O=")
_HOST_PREFIX = re.compile(r"^[A-Za-z0-9._-]+: ")


def short_thumbprint(thumbprint: str) -> str:
    return thumbprint[:8].upper() + "..."


def _short_dn(match: re.Match[str]) -> str:
    parts = match.group(0).split(", ")
    kept = [p for p in parts if p.startswith(_KEPT_RDNS)]
    return ", ".join(kept or parts[:1])


def short_message(message: str) -> str:
    """``message`` with thumbprints abbreviated, DNs reduced to CN and O, and the leading ``HOST: `` dropped."""
    text = _HOST_PREFIX.sub("", message, count=1)
    text = _THUMBPRINT.sub(lambda m: short_thumbprint(m.group(0)), text)
    return _DN.sub(_short_dn, text)


def check_threshold(value: str, option: str) -> str:
    """The threshold, or a ValueError naming ``option`` and the value."""
    folded = str(value).strip().lower()
    if folded not in THRESHOLDS:
        raise ValueError(f"option {option}: {value!r} must be one of {', '.join(THRESHOLDS)}")
    return folded


def reaches(severity: str, fail_on: str) -> bool:
    """Whether a finding of ``severity`` fails a run whose threshold is ``fail_on``."""
    if fail_on == "never":
        return False
    return _RANK.get(severity, 2) >= _RANK[fail_on]


@dataclass(frozen=True)
class Verdict:
    host: str
    codes: tuple[str, ...]  # every finding code, in first-seen order
    lines: tuple[str, ...]  # one per error finding (and per warning when the threshold is warning)
    fails: bool  # a finding reaches the threshold

    @property
    def drifting(self) -> bool:
        return bool(self.codes)

    def headline(self, fail_on: str) -> str:
        if not self.codes:
            return f"{self.host}: compliant"
        verb = "drifts" if self.fails else "drifts (below certwarden_fail_on=" + fail_on + ")"
        return f"{self.host} {verb}: {', '.join(self.codes)}"


def verdict(host: str, findings: Iterable[Mapping[str, Any]], fail_on: str, as_errors: Iterable[str] = ()) -> Verdict:
    """Judge one server's findings (from any number of certwarden results) against ``fail_on``.

    ``as_errors`` names codes that count as errors here whatever their catalogue severity (the gate's
    renewal window makes ``expiring_soon`` one).
    """
    promoted = set(as_errors)
    codes: dict[str, None] = {}
    lines: dict[str, None] = {}
    fails = False
    for item in findings:
        code, severity = str(item.get("code")), str(item.get("severity") or "error")
        if code in promoted:
            severity = "error"
        codes.setdefault(code, None)
        fails = fails or reaches(severity, fail_on)
        if severity == "error" or fail_on == "warning":
            label = code if severity == "error" else f"{code} ({severity})"
            lines.setdefault(f"{host}: {label}: {short_message(str(item.get('message') or ''))}", None)
    return Verdict(host, tuple(codes), tuple(lines), fails)
