"""The checks: each one reads the context and the remediation and adds findings.

Store-wide checks always run (duplicates, connectors that name nothing or
several copies, the certificates in use now). The desired-state checks run
only when a desired state is given, and judge the intended certificate and
every binding the user asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks import chains as chain_status
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.chains import ChainResult
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.context import HYBRID, Binder, Context
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import (
    certificates_named,
    covers,
    group_key,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.findings import Finding, finding
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import StoredCertificate
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.decide import Remediation, names_intended

WEAK_RSA_BITS = 2048
WEAK_EC_BITS = 256
WEAK_HASHES = ("sha1", "md5", "md2")
DEFAULT_EXPIRY_WARNING_DAYS = 30


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    blockers: list[Finding] = field(default_factory=list)

    def add(self, item: Finding, *, blocker: bool = False) -> None:
        self.findings.append(item)
        if blocker:
            self.blockers.append(item)


def _copy(ctx: Context, item: StoredCertificate) -> dict[str, Any]:
    cert = item.certificate
    return {
        "thumbprint": item.thumbprint,
        "subject": item.subject_str,
        "issuer": item.issuer_str,
        "has_private_key": item.has_private_key,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "services": list(ctx.services(item.thumbprint)),
        "status": ctx.status(item.thumbprint),
    }


class Checks:
    def __init__(self, ctx: Context, remediation: Remediation) -> None:
        self.ctx = ctx
        self.rem = remediation
        self.plan = remediation.decisions
        self.report = Report()
        self.host = ctx.snapshot.host.computer_name

    def add(
        self, code: str, message: str, evidence: dict[str, Any], fix: str | None = None, *, blocker: bool = False
    ) -> None:
        self.report.add(finding(code, f"{self.host}: {message}", {"host": self.host, **evidence}, fix), blocker=blocker)

    def run(self) -> Report:
        self.duplicates()
        self.binders()
        self.internal_transport()
        if self.ctx.desired is not None:
            self.intended()
            self.desired_bindings()
            self.retired()
        self.bound_certificates()
        return self.report

    # -- store-wide --------------------------------------------------------------------
    def duplicates(self) -> None:
        ctx = self.ctx
        for group in ctx.duplicate_groups:
            keeper = self.rem.keepers.get(group_key(group[0]))
            removing = [t for t, _unused in self.plan.removals if any(i.thumbprint == t for i in group)]
            kept_bound = {
                i.thumbprint: self.rem.kept_bound[i.thumbprint] for i in group if i.thumbprint in self.rem.kept_bound
            }
            thumbprints = ", ".join(i.thumbprint for i in group)
            message = (
                f"{len(group)} certificates in LocalMachine\\My share issuer {group[0].issuer_str!r} and subject "
                f"{group[0].subject_str!r} ({thumbprints}); a TlsCertificateName cannot tell them apart"
            )
            if keeper is not None:
                message += f"; keep {keeper.thumbprint} because {keeper.reason}"
            if kept_bound:
                message += "; still bound, not removed: " + "; ".join(
                    f"{t} ({', '.join(r)})" for t, r in sorted(kept_bound.items())
                )
            self.add(
                "duplicate_certificate",
                message,
                {
                    "issuer": group[0].issuer_str,
                    "subject": group[0].subject_str,
                    "copies": [_copy(ctx, i) for i in group],
                    "keep": keeper.thumbprint if keeper else None,
                    "keep_reason": keeper.reason if keeper else None,
                    "remove": sorted(removing),
                    "kept_bound": kept_bound,
                },
                "remove" if removing else None,
            )

    def _binder_fix(self, binder: Binder) -> str | None:
        if binder.kind == HYBRID:
            return "set_hybrid" if self.plan.set_hybrid is not None else None
        if any(c.identity == binder.identity and c.kind == binder.kind for c, _unused in self.plan.set_connectors):
            return "set_connector"
        return None

    def binders(self) -> None:
        ctx = self.ctx
        for binder in ctx.binders:
            if not binder.tls_certificate_name:
                continue
            named = certificates_named(ctx.snapshot, binder.tls_certificate_name)
            if not named:
                self.add(
                    "connector_certificate_not_found",
                    f"{binder.label} names {binder.tls_certificate_name!r}, which matches no certificate in "
                    "LocalMachine\\My (454 4.7.5 The certificate specified in TlsCertificateName could not be found)",
                    binder.evidence(),
                    self._binder_fix(binder),
                )
            elif len(named) > 1:
                selection = ctx.selections[(binder.kind, binder.identity)]
                remaining = [i for i in named if not self.plan.removes(i.thumbprint)]
                fix = self._binder_fix(binder) or ("remove" if len(remaining) == 1 else None)
                winner = selection.winner.thumbprint if selection.winner else None
                self.add(
                    "connector_ambiguous",
                    f"{binder.label} names {binder.tls_certificate_name!r}, which matches {len(named)} copies "
                    f"({', '.join(i.thumbprint for i in named)}); any of them could be presented"
                    + (f", inbound STARTTLS picks {winner}" if winner else ""),
                    {
                        **binder.evidence(),
                        "could_present": [_copy(ctx, i) for i in selection.could_present],
                        "inbound_choice": winner,
                    },
                    fix,
                )
            managed = ctx.desired is not None and names_intended(ctx, binder.tls_certificate_name)
            selection = ctx.selections[(binder.kind, binder.identity)]
            winner = selection.winner
            if (
                winner is not None
                and not managed
                and ctx.snapshot.exchange is not None
                and "SMTP" not in ctx.services(winner.thumbprint)
                and binder.kind != HYBRID
            ):
                self.add(
                    "service_not_enabled",
                    f"{binder.label} would present {winner.thumbprint}, which is not enabled for SMTP "
                    "(TLS negotiation failed with error UnknownCredentials)",
                    {
                        **binder.evidence(),
                        "thumbprint": winner.thumbprint,
                        "services": list(ctx.services(winner.thumbprint)),
                    },
                )

    def internal_transport(self) -> None:
        ctx = self.ctx
        ex = ctx.snapshot.exchange
        internal = ex.internal_transport_thumbprint if ex is not None else None
        if not internal:
            return
        fix = (
            "enable_services"
            if ctx.intended_thumbprint in self.plan.enable_services
            and "SMTP" in (self.plan.enable_services[ctx.intended_thumbprint][0])
            else None
        )
        if ctx.snapshot.find(internal) is None:
            self.add(
                "internal_transport_certificate",
                f"the internal transport certificate {internal} is not in LocalMachine\\My (event 12013)",
                {"thumbprint": internal, "state": "missing"},
                fix,
            )
        elif (
            internal in self.rem.kept_bound
            or self.plan.removes(internal)
            or (
                ctx.desired is not None
                and ctx.desired.duplicates == "remove"
                and any(
                    internal == i.thumbprint and internal != self._keeper_of(i) for g in ctx.duplicate_groups for i in g
                )
            )
        ):
            self.add(
                "internal_transport_certificate",
                f"the internal transport certificate {internal} is a duplicate that should be removed",
                {"thumbprint": internal, "state": "duplicate"},
                fix,
            )

    def _keeper_of(self, item: StoredCertificate) -> str | None:
        keeper = self.rem.keepers.get(group_key(item))
        return keeper.thumbprint if keeper else None

    # -- certificates in use ----------------------------------------------------------------
    def bound_certificates(self) -> None:
        ctx = self.ctx
        warn_days = ctx.desired.expiry_warning_days if ctx.desired else DEFAULT_EXPIRY_WARNING_DAYS
        for item, reasons in ctx.bound:
            if item.thumbprint == ctx.intended_thumbprint:
                continue  # judged as the intended certificate
            fix = "remove" if self.plan.removes(item.thumbprint) else None
            evidence = {**_copy(ctx, item), "in_use": reasons}
            self.validity(item, evidence, warn_days, fix=fix, blocker=False)
            if not item.has_private_key:
                self.add(
                    "no_private_key",
                    f"{item.thumbprint} ({item.subject_str}) is in use ({'; '.join(reasons)}) but has no private key "
                    "(TLS negotiation failed with error NoCredentials)",
                    evidence,
                    fix,
                )
            self.revoked(item, evidence, fix=fix, blocker=False)
            self.strength(item, evidence)
            if not item.certificate.is_self_signed:
                self.chain(item, ctx.chain(item.certificate), evidence, fix=None, blocker=False)

    def validity(
        self, item: StoredCertificate, evidence: dict, warn_days: int, *, fix: str | None, blocker: bool
    ) -> None:
        cert, now = item.certificate, self.ctx.now
        if cert.not_after < now:
            self.add(
                "expired",
                f"{item.thumbprint} ({item.subject_str}) expired on {cert.not_after.date()} "
                "(450 4.7.320 Certificate validation failed; event 12016)",
                evidence,
                fix,
                blocker=blocker,
            )
        elif cert.not_before > now:
            self.add(
                "not_yet_valid",
                f"{item.thumbprint} ({item.subject_str}) is not valid before {cert.not_before.isoformat()}",
                evidence,
                fix,
                blocker=blocker,
            )
        elif cert.days_to_expiry(now) <= warn_days:
            staged = [
                i.thumbprint
                for i in self.ctx.groups.get(group_key(item), ())
                if i.certificate.not_after > cert.not_after and i.has_private_key
            ]
            self.add(
                "expiring_soon",
                f"{item.thumbprint} ({item.subject_str}) expires in {cert.days_to_expiry(now)} days "
                f"({cert.not_after.date()})" + (f"; a renewal is staged: {', '.join(staged)}" if staged else ""),
                {**evidence, "days_to_expiry": cert.days_to_expiry(now), "replacement_staged": staged},
                fix,
            )

    def revoked(self, item: StoredCertificate, evidence: dict, *, fix: str | None, blocker: bool) -> None:
        if self.ctx.status(item.thumbprint) == "Revoked":
            self.add(
                "revoked",
                f"Exchange reports {item.thumbprint} ({item.subject_str}) as Revoked",
                evidence,
                fix,
                blocker=blocker,
            )

    def strength(self, item: StoredCertificate, evidence: dict) -> None:
        cert = item.certificate
        limit = WEAK_RSA_BITS if cert.key_type in ("RSA", "DSA") else WEAK_EC_BITS
        if cert.key_size is not None and cert.key_type in ("RSA", "DSA", "EC") and cert.key_size < limit:
            self.add(
                "weak_key",
                f"{item.thumbprint} ({item.subject_str}) has a {cert.key_size}-bit {cert.key_type} "
                f"key (at least {limit} bits expected)",
                {**evidence, "key_type": cert.key_type, "key_size": cert.key_size},
            )
        if cert.signature_hash in WEAK_HASHES:
            self.add(
                "weak_signature",
                f"{item.thumbprint} ({item.subject_str}) is signed with "
                f"{cert.signature_hash.upper()}, which TLS clients reject",
                {**evidence, "signature_hash": cert.signature_hash},
            )

    def chain(
        self, item: StoredCertificate, result: ChainResult, evidence: dict, *, fix: str | None, blocker: bool
    ) -> None:
        detail = {**evidence, "chain": result.to_dict()}
        if not item.certificate.has_aki_extension and not item.certificate.is_self_signed:
            self.add(
                "missing_authority_key_identifier",
                f"{item.thumbprint} ({item.subject_str}) has no Authority Key Identifier; its chain was built "
                "with a relaxed policy (older enterprise CA)",
                detail,
            )
        if result.status == chain_status.VALID:
            return
        if result.status == chain_status.INCOMPLETE:
            missing = result.missing
            if missing is None:  # narrowing for type checkers; callers guarantee it
                raise AssertionError("missing must be set here")
            self.add(
                "incomplete_chain",
                f"the chain of {item.thumbprint} ({item.subject_str}) is incomplete: no store holds its issuer "
                f"{missing.dn!r} (key identifier {missing.key_id or 'unknown'}), "
                f"needed by {missing.needed_by_subject!r}"
                " (450 4.4.317 [Message=UntrustedRoot]: Exchange Online does not fetch intermediates)",
                {**detail, "missing_issuer": missing.to_dict()},
                fix,
                blocker=blocker,
            )
        elif result.status == chain_status.UNTRUSTED_ROOT:
            root = result.untrusted_root
            if root is None:  # narrowing for type checkers; callers guarantee it
                raise AssertionError("root must be set here")
            self.add(
                "untrusted_root",
                f"the chain of {item.thumbprint} ({item.subject_str}) ends at {root.subject_str!r} ({root.thumbprint}),"
                " which is not in LocalMachine\\Root or AuthRoot",
                {**detail, "root": {"thumbprint": root.thumbprint, "subject": root.subject_str}},
                fix,
                blocker=blocker,
            )
        elif result.status == chain_status.EXPIRED_INTERMEDIATE:
            self.add(
                "expired_intermediate",
                f"the chain of {item.thumbprint} ({item.subject_str}) runs through expired intermediate(s) "
                + ", ".join(
                    f"{c.subject_str!r} ({c.thumbprint}, expired {c.not_after.date()})" for c in result.expired
                ),
                detail,
                fix,
                blocker=blocker,
            )
        elif item.certificate.signature_hash not in WEAK_HASHES:
            self.add(
                "chain_invalid",
                f"the chain of {item.thumbprint} ({item.subject_str}) does not validate: {result.error}",
                detail,
                fix,
                blocker=blocker,
            )

    # -- the intended certificate -------------------------------------------------------------
    def intended(self) -> None:
        ctx, desired = self.ctx, self.ctx.desired
        if desired is None:  # narrowing for type checkers; callers guarantee it
            raise AssertionError("desired must be set here")
        thumbprint = ctx.intended_thumbprint
        if thumbprint is None:
            return
        stored = ctx.intended_stored
        has_pfx = bool(desired.pfx_b64)
        if stored is None:
            self.add(
                "missing_intended_certificate",
                f"the intended certificate {thumbprint} is not in LocalMachine\\My"
                + ("" if has_pfx else "; give the PFX (option pfx) so that it can be imported"),
                {"thumbprint": thumbprint},
                "import_pfx" if has_pfx else None,
                blocker=not has_pfx,
            )
        elif not stored.has_private_key:
            self.add(
                "no_private_key",
                f"the intended certificate {thumbprint} ({stored.subject_str}) has no private key "
                "(TLS negotiation failed with error NoCredentials)",
                _copy(ctx, stored),
                "import_pfx" if has_pfx else None,
                blocker=not has_pfx,
            )
        cert = ctx.intended_cert
        if cert is None:
            return
        item = stored or StoredCertificate("My", cert, cert.subject_str, cert.issuer_str, True, True)
        evidence = {**_copy(ctx, item), "intended": True}
        self.validity(item, evidence, desired.expiry_warning_days, fix=None, blocker=True)
        self.revoked(item, evidence, fix=None, blocker=True)
        self.strength(item, evidence)
        self.intended_chain(item, evidence)
        self.names(item, evidence)
        ex = ctx.snapshot.exchange
        if ex is not None:
            missing = [s for s in desired.services if s not in ctx.services(thumbprint)]
            if missing:
                self.add(
                    "service_not_enabled",
                    f"the intended certificate {thumbprint} is not enabled for {', '.join(missing)}"
                    + (" (TLS negotiation failed with error UnknownCredentials)" if "SMTP" in missing else ""),
                    {**evidence, "missing_services": missing},
                    "enable_services",
                )

    def intended_chain(self, item: StoredCertificate, evidence: dict) -> None:
        ctx = self.ctx
        result = ctx.chain(item.certificate)
        if result.ok:
            self.chain(item, result, evidence, fix=None, blocker=False)
            self.stray_bundle_certificates(item, result, evidence)
            return
        bundle = self.rem.bundle_chain
        if bundle is not None and bundle.ok:
            fix = "install_intermediate" if self.plan.install_intermediates else "install_root"
            self.chain(
                item,
                result,
                {
                    **evidence,
                    "installs": [c.thumbprint for c in self.plan.install_roots + self.plan.install_intermediates],
                },
                fix=fix,
                blocker=False,
            )
            return
        if bundle is not None:
            reason = ""
            if bundle.missing is not None:
                key_id = bundle.missing.key_id or "unknown"
                reason = f": nothing in it issues {bundle.missing.dn!r} (key identifier {key_id})"
            elif bundle.untrusted_root is not None:
                reason = f": it ends at {bundle.untrusted_root.subject_str!r}, which the host does not trust" + (
                    "" if ctx.desired and ctx.desired.install_root else " (set install_root to install it)"
                )
            self.add(
                "bundle_does_not_chain",
                f"the certificate bundle (option chain) does not complete the chain of the intended certificate "
                f"{item.thumbprint}{reason}",
                {
                    **evidence,
                    "chain": bundle.to_dict(),
                    "bundle": [{"thumbprint": c.thumbprint, "subject": c.subject_str} for c in ctx.desired.chain],
                },
                blocker=True,
            )
            return
        self.chain(item, result, evidence, fix=None, blocker=True)

    def stray_bundle_certificates(self, item: StoredCertificate, result: ChainResult, evidence: dict) -> None:
        """A bundle certificate that is no link of the intended certificate's chain is a wrong bundle.

        Cross-signed links share the subject of the link they stand for, so
        membership is by subject; a stray means the user gave another CA's file.
        """
        desired = self.ctx.desired
        if desired is None or not desired.chain:
            return
        links = {c.subject_name_der for c in result.path}
        stray = [c for c in desired.chain if c.subject_name_der not in links]
        if stray:
            self.add(
                "bundle_does_not_chain",
                f"the certificate bundle (option chain) holds certificates that are not in the chain of the intended "
                f"certificate {item.thumbprint}: " + ", ".join(f"{c.subject_str} ({c.thumbprint})" for c in stray),
                {**evidence, "chain": result.to_dict(), "stray": [c.thumbprint for c in stray]},
                blocker=True,
            )

    def names(self, item: StoredCertificate, evidence: dict) -> None:
        ctx, desired = self.ctx, self.ctx.desired
        if desired is None:  # narrowing for type checkers; callers guarantee it
            raise AssertionError("desired must be set here")
        wanted = list(desired.server_fqdn_names)
        ex = ctx.snapshot.exchange
        if ex is not None:
            for connector in ex.connectors:
                refs = desired.send_connectors if connector.kind == "send" else desired.receive_connectors
                if connector.fqdn and any(connector.matches(r) for r in refs):
                    wanted.append(connector.fqdn)
        cert = item.certificate
        missing = sorted({n for n in wanted if not covers(cert.sans, cert.common_name, n)}, key=str.casefold)
        if missing:
            self.add(
                "name_not_covered",
                f"the intended certificate {item.thumbprint} does not cover {', '.join(missing)} "
                f"(its names: {', '.join(cert.sans) or cert.common_name or 'none'}; 450 4.7.320 Certificate "
                "validation failed)",
                {**evidence, "names_not_covered": missing, "sans": list(cert.sans)},
                # Binding a connector to a certificate without its FQDN breaks it
                # (450 4.7.320): the declared state contradicts itself, so nothing
                # is changed until a person picks another certificate or connector.
                blocker=True,
            )

    def desired_bindings(self) -> None:
        ctx, desired = self.ctx, self.ctx.desired
        if desired is None:  # narrowing for type checkers; callers guarantee it
            raise AssertionError("desired must be set here")
        for kind, ref in self.rem.missing_connectors:
            self.add(
                "connector_not_found",
                f"there is no {kind} connector {ref!r} (option {kind}_connectors)"
                + ("" if ctx.snapshot.exchange is not None else " (the Exchange management tools are absent)"),
                {"kind": kind, "identity": ref},
                blocker=True,
            )
        if self.rem.hybrid_missing:
            self.add(
                "hybrid_not_found",
                "hybrid_configuration is set but the organisation has no hybrid configuration",
                {"kind": HYBRID},
                blocker=True,
            )
        for ref in self.rem.missing_iis:
            self.add(
                "iis_binding_not_found", f"there is no IIS https binding {ref!r}", {"iis_binding": ref}, blocker=True
            )
        if ctx.intended_thumbprint is None or (ctx.snapshot.exchange is None and not desired.iis_bindings):
            return
        for connector, tls_name in self.plan.set_connectors:
            self.add(
                "connector_mismatch",
                f"{connector.kind} connector {connector.identity} names "
                f"{connector.tls_certificate_name or 'no certificate'!r}, not the intended certificate {tls_name!r}",
                {
                    "kind": connector.kind,
                    "identity": connector.identity,
                    "tls_certificate_name": connector.tls_certificate_name,
                    "intended_tls_certificate_name": tls_name,
                    "intended_thumbprint": ctx.intended_thumbprint,
                },
                "set_connector",
            )
        ex = ctx.snapshot.exchange
        if self.plan.set_hybrid is not None and ex is not None and ex.hybrid_configuration is not None:
            self.add(
                "hybrid_mismatch",
                f"the hybrid configuration names {ex.hybrid_configuration.tls_certificate_name or 'no certificate'!r}, "
                f"not the intended certificate {self.plan.set_hybrid!r}",
                {
                    "tls_certificate_name": ex.hybrid_configuration.tls_certificate_name,
                    "intended_tls_certificate_name": self.plan.set_hybrid,
                    "intended_thumbprint": ctx.intended_thumbprint,
                },
                "set_hybrid",
            )
        for binding, thumbprint in self.plan.set_iis:
            self.add(
                "iis_binding_mismatch",
                f"IIS binding {binding.site} {binding.binding} uses {binding.thumbprint or 'no certificate'}, "
                f"not {thumbprint}",
                {
                    "site": binding.site,
                    "binding": binding.binding,
                    "thumbprint": binding.thumbprint,
                    "intended_thumbprint": thumbprint,
                },
                "set_iis_binding",
            )
        self.presented()

    def retired(self) -> None:
        """Option retire: certificates that must leave My (removed when free, else explained)."""
        ctx = self.ctx
        for thumbprint in self.rem.retired:
            item = ctx.snapshot.find(thumbprint)
            if item is None:  # narrowing for type checkers; decide() only lists present ones
                continue
            self.add(
                "retired_certificate_present",
                f"{thumbprint} ({item.subject_str}) is to be retired (option retire) but is still in "
                "LocalMachine\\My; nothing binds it once the plan's earlier steps have run",
                {**_copy(ctx, item), "retire": True},
                "remove",
            )
        for thumbprint, reasons in sorted(self.rem.retired_bound.items()):
            item = ctx.snapshot.find(thumbprint)
            if item is None:  # narrowing for type checkers; decide() only lists present ones
                continue
            self.add(
                "retired_certificate_bound",
                f"{thumbprint} ({item.subject_str}) is to be retired (option retire) but is kept because it is "
                f"still in use: {'; '.join(reasons)}; move these onto another certificate first",
                {**_copy(ctx, item), "retire": True, "bound_by": reasons},
            )

    def presented(self) -> None:
        """Connectors that name the intended certificate but on which Exchange would present another copy."""
        ctx = self.ctx
        desired = ctx.desired
        if desired is None:  # narrowing for type checkers; callers guarantee it
            raise AssertionError("desired must be set here")
        for binder in ctx.binders:
            managed = binder.kind == HYBRID and desired.hybrid_configuration
            if binder.connector is not None:
                refs = desired.send_connectors if binder.kind == "send" else desired.receive_connectors
                managed = any(binder.connector.matches(r) for r in refs)
            if not managed or not names_intended(ctx, binder.tls_certificate_name):
                continue
            selection = ctx.selections[(binder.kind, binder.identity)]
            others = [i for i in selection.could_present if i.thumbprint != ctx.intended_thumbprint]
            if not others and selection.winner is not None:
                continue
            remaining = [i for i in others if not self.plan.removes(i.thumbprint)]
            fix = "remove" if not remaining and others else ("import_pfx" if self.plan.import_pfx else None)
            self.add(
                "wrong_certificate_presented",
                f"{binder.label} names the intended certificate, but Exchange may present "
                f"{', '.join(i.thumbprint for i in others) or 'nothing'} instead of {ctx.intended_thumbprint}",
                {
                    **binder.evidence(),
                    "intended_thumbprint": ctx.intended_thumbprint,
                    "could_present": [_copy(ctx, i) for i in others],
                    "inbound_choice": selection.winner.thumbprint if selection.winner else None,
                },
                fix,
            )


def run_checks(ctx: Context, remediation: Remediation) -> Report:
    return Checks(ctx, remediation).run()
