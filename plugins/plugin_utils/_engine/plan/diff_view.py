"""The text a person reads in ``--diff``: the parts of a server the plan changes."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.server_folders import (
    ADMINISTRATORS_SID,
    SYSTEM_SID,
    FolderFacts,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot

# Stores shown in the diff: those the plan can change. Root and AuthRoot hold
# hundreds of entries on a real server; only a change there is worth a line.
_STORES = ("My", "CA", "Root")
_SID_NAMES = {SYSTEM_SID: "SYSTEM", ADMINISTRATORS_SID: "Administrators"}


def render_folder(facts: FolderFacts) -> list[str]:
    """The backup folder's lines: absent, or what it is and who it allows (the permissions the apply sets)."""
    if not facts.exists:
        return [f"Backup folder {facts.path}: absent"]
    kind = "junction/symbolic link" if facts.reparse_point else "folder" if facts.directory else "file"
    inheritance = "inheritance disabled" if facts.protected else "inheritance enabled"
    lines = [f"Backup folder {facts.path}: {kind}, {inheritance}"]
    for rule in facts.rules:
        who = _SID_NAMES.get(rule.sid)
        lines.append(
            f"  {'allow' if rule.allow else 'deny'} {rule.sid}{f' ({who})' if who else ''} {rule.rights}"
            + ("  (inherited)" if rule.inherited else "")
        )
    return lines


def render_state(snapshot: Snapshot, *, changed_roots: frozenset[str] = frozenset()) -> str:
    """A stable, line-oriented rendering of the certificate state of one host."""
    exchange = snapshot.exchange
    lines: list[str] = []
    for store in _STORES:
        lines.append(f"{store} store:")
        for item in sorted(snapshot.store(store), key=lambda i: i.thumbprint):
            if store == "Root" and item.thumbprint not in changed_roots:
                continue
            services = ",".join(exchange.services_of(item.thumbprint)) if exchange else ""
            lines.append(
                f"  {item.thumbprint}  {item.subject_str}"
                f"  key={'yes' if item.has_private_key else 'no'}"
                f"  expires={item.certificate.not_after.date().isoformat()}"
                + (f"  services={services}" if services else "")
            )
    if exchange is not None:
        lines.append("Send connectors:")
        lines.extend(f"  {c.identity}: {c.tls_certificate_name or '(none)'}" for c in exchange.send_connectors)
        lines.append("Receive connectors:")
        lines.extend(f"  {c.identity}: {c.tls_certificate_name or '(none)'}" for c in exchange.receive_connectors)
        hybrid = exchange.hybrid_configuration
        if hybrid is not None:
            lines.append(f"Hybrid configuration: {hybrid.tls_certificate_name or '(none)'}")
    if snapshot.iis_bindings:
        lines.append("IIS bindings:")
        lines.extend(f"  {b.reference}: {b.thumbprint or '(none)'}" for b in snapshot.iis_bindings)
    if snapshot.folders is not None and snapshot.folders.backup is not None:
        lines.extend(render_folder(snapshot.folders.backup))
    return "\n".join(lines) + "\n"


def state_diff(before: Snapshot, after: Snapshot, host: str) -> dict[str, str]:
    """Ansible's diff dict for one host."""
    roots = frozenset(i.thumbprint for i in before.store("Root")) ^ frozenset(i.thumbprint for i in after.store("Root"))
    return {
        "before_header": f"{host} (before)",
        "after_header": f"{host} (after)",
        "before": render_state(before, changed_roots=roots),
        "after": render_state(after, changed_roots=roots),
    }
