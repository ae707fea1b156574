"""Tie what the logs say was presented to what the host's store holds.

"Connector X presented thumbprint T; T is a duplicate of U and has no private
key" is the sentence that turns a log line into a fix. The store facts come
from the engine's :class:`Snapshot` of the agent's ``read`` result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import names_equal
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import (
    Snapshot,
    StoredCertificate,
)


def _same_name(a: StoredCertificate, b: StoredCertificate) -> bool:
    return names_equal(a.certificate.subject, b.certificate.subject) and names_equal(
        a.certificate.issuer, b.certificate.issuer
    )


def describe_presented(snapshot: Snapshot, presented: Iterable[tuple[str, str]]) -> dict[str, str]:
    """One sentence per presented thumbprint: ``{thumbprint: sentence}``."""
    my = snapshot.store("My")
    out: dict[str, str] = {}
    for connector, thumbprint in presented:
        item = snapshot.find(thumbprint, "My")
        if item is None:
            out[thumbprint] = (
                f"Connector {connector!r} presented {thumbprint}, which is no longer in LocalMachine\\My on "
                f"{snapshot.host.computer_name}."
            )
            continue
        facts: list[str] = []
        twins = [other for other in my if other.thumbprint != thumbprint and _same_name(item, other)]
        if twins:
            described = ", ".join(
                f"{t.thumbprint} (valid {t.certificate.not_before:%Y-%m-%d} to {t.certificate.not_after:%Y-%m-%d}"
                f"{', private key' if t.has_private_key else ', no private key'})"
                for t in twins
            )
            facts.append(f"is a duplicate (same issuer and subject) of {described}")
        facts.append("has a private key" if item.has_private_key else "has no private key")
        services = snapshot.exchange.services_of(thumbprint) if snapshot.exchange else ()
        facts.append(f"is enabled for {', '.join(services)}" if services else "is enabled for no Exchange service")
        out[thumbprint] = f"Connector {connector!r} presented {thumbprint}; it " + ", ".join(facts) + "."
    return out


def verbose_steps(read_result: Mapping[str, Any], names: Sequence[str], level: str, option: str) -> list[dict]:
    """``set_protocol_logging`` steps for the named connectors whose level differs from ``level``."""
    snapshot = Snapshot.from_read_result(dict(read_result))
    if snapshot.exchange is None:
        raise InputError(f"option {option}: the Exchange management tools are not available on this host")
    steps = []
    for wanted in names:
        matches = [c for c in snapshot.exchange.connectors if c.matches(wanted)]
        if not matches:
            known = ", ".join(sorted(c.identity for c in snapshot.exchange.connectors)) or "none"
            raise InputError(f"option {option}: no connector named {wanted!r} on this host (known: {known})")
        for connector in matches:
            current = str(connector.raw.get("protocol_logging_level") or "None")
            if current.casefold() != level.casefold():
                steps.append(
                    {
                        "id": len(steps) + 1,
                        "action": "set_protocol_logging",
                        "kind": connector.kind.value,
                        "identity": connector.identity,
                        "level": level,
                        "from": current,
                    }
                )
    return steps
