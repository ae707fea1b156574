# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One report from the report.json files of a sliced run (AWX job slicing, or --limit shares of an inventory).

Each slice saw its own servers only; the servers lists are joined, the summary is computed again from them (as
the callback computes it), and the run spans from the earliest start to the latest end. A server that appears in
more than one slice is an error: the slices were not a partition of the inventory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.model import SCHEMA_VERSION, summarise


class MergeError(ValueError):
    """The slices cannot be merged; the message names the slice and the reason."""


def _check(document: Any, label: str) -> dict[str, Any]:
    if not isinstance(document, dict) or not isinstance(document.get("servers"), list):
        raise MergeError(f"{label}: not a certwarden report (no servers list)")
    if document.get("schema_version") != SCHEMA_VERSION:
        raise MergeError(
            f"{label}: schema_version {document.get('schema_version')!r}, this collection writes {SCHEMA_VERSION}"
        )
    return document


def merge_reports(documents: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """``documents`` are (label, parsed report.json) pairs, the label naming the slice in errors."""
    if not documents:
        raise MergeError("no report to merge")
    checked = [(label, _check(document, label)) for label, document in documents]
    seen: dict[str, str] = {}
    servers: list[dict[str, Any]] = []
    for label, document in checked:
        for server in document["servers"]:
            name = server["name"]
            if name in seen:
                raise MergeError(f"server {name} is in two slices, {seen[name]} and {label}")
            seen[name] = label
            servers.append(server)
    servers.sort(key=lambda s: s["name"])
    reports = [document for _label, document in checked]
    playbooks = sorted({str(d.get("playbook") or "") for d in reports})
    rollouts = [d["rollout"] for d in reports if d.get("rollout")]
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "certwarden.exchange.compliance_report",
        "playbook": ", ".join(playbooks),
        "started_utc": min(d["started_utc"] for d in reports),
        "finished_utc": max(d["finished_utc"] for d in reports),
        "check_mode": any(d.get("check_mode") for d in reports),
        "summary": summarise(servers),
        # A rollout cannot be sliced (its organisation-wide step runs once): the first slice's is kept as it is.
        "rollout": rollouts[0] if rollouts else None,
        "servers": servers,
    }
