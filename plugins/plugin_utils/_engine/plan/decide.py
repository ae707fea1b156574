"""Decide what the plan does; steps.py writes the steps in their safe order."""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.chains import ChainResult
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.context import (
    Context,
    binding_reasons,
    hybrid_serves_here,
    keeper_order,
    named_by_tls_name,
    serves_here,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import group_key
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.backup_folder import judge_backup_folder
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import (
    names_equal,
    parse_tls_certificate_name,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import (
    Connector,
    ConnectorKind,
    ExchangeState,
    Snapshot,
    StoredCertificate,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Decisions


@dataclass
class Keeper:
    thumbprint: str
    reason: str


@dataclass
class Remediation:
    decisions: Decisions = field(default_factory=Decisions)
    keepers: dict[tuple, Keeper] = field(default_factory=dict)  # duplicate group -> the copy kept
    kept_bound: dict[str, list[str]] = field(default_factory=dict)  # duplicate that stays, and why
    retired: list[str] = field(default_factory=list)  # option retire: present in My and planned for removal
    retired_bound: dict[str, list[str]] = field(default_factory=dict)  # option retire: present but still bound
    bundle_chain: ChainResult | None = None  # the intended chain with the user's bundle added
    missing_connectors: list[tuple[ConnectorKind, str]] = field(default_factory=list)  # (kind, reference)
    missing_iis: list[str] = field(default_factory=list)
    hybrid_missing: bool = False


def names_intended(ctx: Context, tls_certificate_name: str | None) -> bool:
    """True when a TlsCertificateName names the intended certificate's issuer and subject."""
    if not tls_certificate_name or ctx.intended_cert is None:
        return False
    try:
        issuer, subject = parse_tls_certificate_name(tls_certificate_name)
    except ValueError:
        return False
    cert = ctx.intended_cert
    return names_equal(issuer, cert.issuer_dn) and names_equal(subject, cert.subject_dn)


def _find_connector(ctx: Context, kind: ConnectorKind, reference: str) -> Connector | None:
    ex = ctx.snapshot.exchange
    if ex is None:
        return None
    pool = ex.send_connectors if kind is ConnectorKind.SEND else ex.receive_connectors
    for connector in pool:
        if connector.matches(reference):
            return connector
    return None


def _plan_chain(ctx: Context, out: Remediation) -> None:
    cert = ctx.intended_cert
    if cert is None or ctx.chain(cert).ok or ctx.bundle_verifier is None:
        return
    result = ctx.bundle_verifier.verify(cert)
    out.bundle_chain = result
    if not result.ok:
        return
    trusted = {c.thumbprint for c in ctx.host_anchors + ctx.trust_bundle}
    for issuer in reversed(result.path[1:]):
        if issuer.is_self_signed and ctx.bundle_verifier.is_anchor(issuer):
            if issuer.thumbprint not in trusted:
                out.decisions.install_roots.append(issuer)
        elif issuer.thumbprint not in ctx.host_store_thumbprints:
            out.decisions.install_intermediates.append(issuer)


def _plan_bindings(ctx: Context, out: Remediation) -> None:
    desired, tls_name = ctx.desired, ctx.intended_tls_name
    if desired is None:  # narrowing for type checkers; callers guarantee it
        raise AssertionError("desired must be set here")
    ex = ctx.snapshot.exchange
    edge = ex is not None and ex.role == "Edge"  # Edge Transport has no hybrid configuration and no IIS
    for kind in (ConnectorKind.SEND, ConnectorKind.RECEIVE):
        for ref in desired.connector_refs(kind):
            connector = _find_connector(ctx, kind, ref)
            if connector is None:
                out.missing_connectors.append((kind, ref))
            elif not serves_here(ctx.snapshot, connector):
                continue  # another server's send connector: its source servers are judged on it
            elif tls_name and not names_intended(ctx, connector.tls_certificate_name):
                out.decisions.set_connectors.append((connector, tls_name))
    if desired.hybrid_configuration and not edge:
        if ex is None or ex.hybrid_configuration is None:
            out.hybrid_missing = True
        elif (
            tls_name
            and hybrid_serves_here(ctx.snapshot)
            and not names_intended(ctx, ex.hybrid_configuration.tls_certificate_name)
        ):
            out.decisions.set_hybrid = tls_name
    for site, port in () if edge else desired.iis_binding_refs:
        matches = [b for b in ctx.snapshot.iis_bindings if b.site.casefold() == site.casefold() and b.port == port]
        if not matches:
            out.missing_iis.append(f"{site}:{port}")
        for binding in matches:
            if ctx.intended_thumbprint and binding.thumbprint != ctx.intended_thumbprint:
                out.decisions.set_iis.append((binding, ctx.intended_thumbprint))


def _choose_keepers(ctx: Context, out: Remediation) -> None:
    for group in ctx.duplicate_groups:
        key = group_key(group[0])
        if ctx.intended_thumbprint is not None and key == ctx.intended_group:
            out.keepers[key] = Keeper(ctx.intended_thumbprint, "it is the intended certificate")
            continue
        # A copy option retire names is leaving: the group keeps the best of the others, if any.
        staying = [i for i in group if ctx.desired is None or i.thumbprint not in ctx.desired.retire] or group
        best = min(staying, key=lambda i: keeper_order(i, ctx.now))
        cert = best.certificate
        why = [
            "it has a private key" if best.has_private_key else "no copy has a private key",
            "is valid now" if cert.is_valid_at(ctx.now) else "is not valid now",
            f"and has the newest NotBefore ({cert.not_before.date().isoformat()})",
        ]
        out.keepers[key] = Keeper(best.thumbprint, "it is the copy Exchange should use: " + ", ".join(why))


def _take_over(ctx: Context, out: Remediation) -> tuple[set[str], bool]:
    """Move what binds the intended certificate's duplicates onto it, so they can go.

    Returns the services the duplicates carry and whether the internal transport
    certificate must move to the intended one (enable SMTP with -Force does that).
    """
    services: set[str] = set()
    ex = ctx.snapshot.exchange
    if ctx.intended_group not in ctx.groups or not ctx.intended_has_key or ex is None:
        return services, False
    intended = ctx.intended_thumbprint
    move_internal = False
    for item in ctx.groups[ctx.intended_group]:
        if item.thumbprint == intended:
            continue
        services.update(ctx.services(item.thumbprint))
        move_internal = move_internal or ex.internal_transport_thumbprint == item.thumbprint
        for binding in ctx.snapshot.iis_bindings:
            if binding.thumbprint == item.thumbprint and all(b is not binding for b, _unused in out.decisions.set_iis):
                out.decisions.set_iis.append((binding, intended))
    return services, move_internal


def unread_binding_reasons(ex: ExchangeState | None, item: StoredCertificate) -> list[str]:
    """Why ``item`` may be bound by what the read could not see (empty: all was read, or it cannot be).

    Exchange makes its OAuth certificate and a federation trust's certificate self-signed (setup, and
    ``New-ExchangeCertificate`` when they are renewed), and only Get-AuthConfig and Get-FederationTrust name
    them. Where the account's roles did not expose those cmdlets, a self-signed copy is kept rather than
    guessed about; Edge Transport has neither.
    """
    unread = () if ex is None else ex.organisation_bindings_unread
    if not unread or not item.certificate.is_self_signed:
        return []
    return [
        f"{' and '.join(unread)} could not be read with this account's roles; a self-signed copy may be bound there"
    ]


def key_loss_reasons(item: StoredCertificate, desired: DesiredState) -> list[str]:
    """Why removing ``item`` would destroy its private key for good (empty: the backup keeps it, or no key).

    The backup step writes a PFX only with backup.password and an exportable key; otherwise it keeps
    the certificate alone. Removing a copy with a key then needs backup.certificate_only: true.
    """
    if not item.has_private_key or desired.backup_certificate_only:
        return []
    if item.private_key_exportable is False:
        return [
            "its private key is not exportable, so no backup can keep it (set backup.certificate_only: true to "
            "remove it with a certificate-only backup)"
        ]
    if item.private_key_exportable is None:
        # The agent backs up as a PFX only a key it could read as exportable; any other key is left out.
        return [
            "whether its private key is exportable could not be read, so the backup would keep the certificate only "
            "(set backup.certificate_only: true to remove it with a certificate-only backup)"
        ]
    if not desired.backup_password:
        return [
            "it has a private key and backup.password is not set, so the backup would keep the certificate only "
            "(set backup.password for a PFX backup, or backup.certificate_only: true)"
        ]
    return []


def _after_steps_so_far(
    ctx: Context, out: Remediation, desired: DesiredState
) -> tuple[Snapshot, dict[str, tuple[StoredCertificate, ...]]]:
    """The host once the steps decided so far have run, and the copies each binder's TlsCertificateName names there."""
    after = apply_plan(ctx.snapshot, out.decisions.steps(desired))
    return after, named_by_tls_name(after, ctx.my_index_after(after))


def _plan_removals(ctx: Context, out: Remediation) -> None:
    desired = ctx.desired
    if desired is None:  # narrowing for type checkers; callers guarantee it
        raise AssertionError("desired must be set here")
    groups = list(ctx.duplicate_groups)
    if ctx.intended_stored is None and out.decisions.import_pfx and ctx.intended_group in ctx.groups:
        # The import creates a duplicate of every copy already there under the same name.
        groups.append(ctx.groups[ctx.intended_group])
        out.keepers[ctx.intended_group] = Keeper(ctx.intended_thumbprint or "", "it is the intended certificate")
    if desired.duplicates != "remove" or not groups:
        return
    # Prove each removal safe on the host as it will be once the earlier steps have run.
    after, named_by = _after_steps_so_far(ctx, out, desired)
    ex = after.exchange
    for group in groups:
        keeper = out.keepers[group_key(group[0])]
        # What the keeper carries, and what the intended certificate carries once the plan has run, stays served.
        covered = _services_staying(ex, keeper.thumbprint, ctx.intended_thumbprint)
        for item in group:
            if item.thumbprint in (keeper.thumbprint, ctx.intended_thumbprint):
                continue
            reasons = binding_reasons(after, item.thumbprint, covered_services=covered, named_by=named_by)
            reasons += unread_binding_reasons(ex, item) + key_loss_reasons(item, desired)
            if reasons:
                out.kept_bound[item.thumbprint] = reasons
            else:
                out.decisions.removals.append(
                    (item.thumbprint, f"duplicate of {keeper.thumbprint} ({_describe(item)})")
                )


def _plan_retirements(ctx: Context, out: Remediation) -> None:
    """Option retire: remove each named certificate that nothing binds once every other step has run.

    Each one is judged on the host as it will be after the plan so far, earlier retirements included:
    two retired copies that a connector names together must not both go.
    """
    desired = ctx.desired
    if desired is None:  # narrowing for type checkers; callers guarantee it
        raise AssertionError("desired must be set here")
    present = sorted(t for t in desired.retire if ctx.snapshot.find(t) is not None)
    if not present:
        return
    intended = ctx.intended_thumbprint
    after, named_by = _after_steps_so_far(ctx, out, desired)
    for thumbprint in present:
        if thumbprint == intended:
            continue  # DesiredState refuses this; kept as a guard for hand-built states
        if out.decisions.removes(thumbprint):
            out.retired.append(thumbprint)  # already leaving as a duplicate
            continue
        covered = _services_staying(after.exchange, None, intended)
        reasons = binding_reasons(after, thumbprint, covered_services=covered, named_by=named_by)
        stored = ctx.snapshot.find(thumbprint)
        if stored is not None:
            reasons += unread_binding_reasons(after.exchange, stored) + key_loss_reasons(stored, desired)
        if reasons:
            out.retired_bound[thumbprint] = reasons
            continue
        item = ctx.snapshot.find(thumbprint)
        out.retired.append(thumbprint)
        out.decisions.removals.append((thumbprint, f"retired by option retire ({item.subject_str if item else ''})"))
        after, named_by = _after_steps_so_far(ctx, out, desired)


def _services_staying(ex: ExchangeState | None, *thumbprints: str | None) -> tuple[str, ...]:
    if ex is None:
        return ()
    return tuple(sorted({s for t in thumbprints if t for s in ex.services_of(t)}))


def _describe(item: StoredCertificate) -> str:
    return "no private key" if not item.has_private_key else f"NotBefore {item.certificate.not_before.date()}"


# Windows Server 2019: the first build whose PFX import reads PBES2/AES-256 (older ones need 3DES/SHA-1).
WINDOWS_SERVER_2019_BUILD = 17763
EDGE_SERVICES = frozenset({"SMTP"})


def _internal_transport_leaves(ctx: Context, out: Remediation, internal: str | None) -> bool:
    """Whether the internal transport certificate is a duplicate this plan would remove once it no longer binds."""
    holder = ctx.snapshot.find(internal) if internal else None
    if holder is None or ctx.desired is None:
        return False
    keeper = out.keepers.get(group_key(holder))
    return ctx.desired.duplicates == "remove" and keeper is not None and keeper.thumbprint != internal


def _plan_services(ctx: Context, out: Remediation, intended: str) -> None:
    """The services the intended certificate lacks, and whether it takes over the internal transport role."""
    desired, ex = ctx.desired, ctx.snapshot.exchange
    if desired is None or ex is None:  # narrowing for type checkers; decide() guarantees both
        raise AssertionError("desired and exchange must be set here")
    wanted = set(desired.services) & EDGE_SERVICES if ex.role == "Edge" else set(desired.services)
    current = set(ctx.services(intended))
    taken_over, move_internal = _take_over(ctx, out)
    missing = (wanted | taken_over) - current
    internal = ex.internal_transport_thumbprint
    if internal and ctx.snapshot.find(internal) is None and "SMTP" in wanted and ctx.intended_has_key:
        move_internal = True  # event 12013: the internal transport certificate is gone
    if "SMTP" in wanted and ctx.intended_has_key and _internal_transport_leaves(ctx, out, internal):
        move_internal = True  # it is a duplicate that this plan removes
    if desired.replace_internal_transport and "SMTP" in wanted:
        move_internal = True
    reason = f"the intended certificate lacks {', '.join(sorted(missing))}" if missing else ""
    if move_internal and internal != intended:
        missing.add("SMTP")
        out.decisions.replace_internal_transport.add(intended)
        reason = (reason + "; " if reason else "") + "make it the internal transport certificate"
    if missing:
        out.decisions.enable_services[intended] = (tuple(sorted(missing)), reason)


def decide(ctx: Context) -> Remediation:
    out = Remediation()
    _choose_keepers(ctx, out)
    desired = ctx.desired
    if desired is None:
        return out
    _plan_chain(ctx, out)
    build = ctx.snapshot.host.os_build
    out.decisions.legacy_pfx = build is not None and build < WINDOWS_SERVER_2019_BUILD
    if desired.pfx_b64 and (ctx.intended_stored is None or not ctx.intended_stored.has_private_key):
        out.decisions.import_pfx = True
        out.decisions.import_reason = (
            "the intended certificate is not in LocalMachine\\My"
            if ctx.intended_stored is None
            else "the intended certificate in LocalMachine\\My has no private key"
        )
    if ctx.intended_thumbprint is not None and ctx.snapshot.exchange is not None:
        _plan_bindings(ctx, out)
        _plan_services(ctx, out, ctx.intended_thumbprint)
    elif ctx.intended_thumbprint is not None:
        _plan_bindings(ctx, out)
    _plan_removals(ctx, out)
    _plan_retirements(ctx, out)
    out.decisions.backup_folder = judge_backup_folder(
        desired.backup_directory, ctx.snapshot.folders, account_sid=ctx.snapshot.host.account_sid
    )
    return out


__all__ = ["Keeper", "Remediation", "decide", "names_intended"]
