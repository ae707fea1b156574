"""Chain findings: a certificate's chain as the host would build it, and the user's bundle that completes it."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks import chains as chain_status
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.chains import ChainResult
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.validity import WEAK_HASHES
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import StoredCertificate


def _missing_aki(run: CheckRun, item: StoredCertificate, detail: dict) -> None:
    if not item.certificate.has_aki_extension and not item.certificate.is_self_signed:
        run.add(
            "missing_authority_key_identifier",
            f"{item.thumbprint} ({item.subject_str}) has no Authority Key Identifier; its chain was built "
            "with a relaxed policy (older enterprise CA)",
            detail,
        )


def _weak_links(run: CheckRun, item: StoredCertificate, result: ChainResult, detail: dict) -> None:
    """A link of an otherwise complete chain signed with SHA-1 or MD5: TLS clients refuse the path."""
    for link in result.weak_signed:
        if link.thumbprint == item.thumbprint:
            continue  # the certificate's own signature is judged with its validity
        run.add(
            "weak_signature",
            f"the chain of {item.thumbprint} ({item.subject_str}) is complete, but the intermediate "
            f"{link.subject_str!r} ({link.thumbprint}) is signed with {str(link.signature_hash).upper()}, "
            "which TLS clients reject; reissue the intermediate or use the CA's SHA-256 one",
            {**detail, "weak_link": {"thumbprint": link.thumbprint, "signature_hash": link.signature_hash}},
        )


def _broken_chain(run: CheckRun, item: StoredCertificate, result: ChainResult, detail: dict) -> tuple | None:
    """The (code, message, evidence) of a chain that does not validate, or None when no finding applies."""
    if result.status == chain_status.INCOMPLETE:
        missing = result.missing
        if missing is None:  # narrowing for type checkers; callers guarantee it
            raise AssertionError("missing must be set here")
        return (
            "incomplete_chain",
            f"the chain of {item.thumbprint} ({item.subject_str}) is incomplete: no store holds its issuer "
            f"{missing.dn!r} (key identifier {missing.key_id or 'unknown'}), "
            f"needed by {missing.needed_by_subject!r}"
            " (450 4.4.317 [Message=UntrustedRoot]: Exchange Online does not fetch intermediates)",
            {**detail, "missing_issuer": missing.to_dict()},
        )
    if result.status == chain_status.UNTRUSTED_ROOT:
        root = result.untrusted_root
        if root is None:  # narrowing for type checkers; callers guarantee it
            raise AssertionError("root must be set here")
        return (
            "untrusted_root",
            f"the chain of {item.thumbprint} ({item.subject_str}) ends at {root.subject_str!r} ({root.thumbprint}),"
            " which is not in LocalMachine\\Root or AuthRoot",
            {**detail, "root": {"thumbprint": root.thumbprint, "subject": root.subject_str}},
        )
    if result.status == chain_status.EXPIRED_INTERMEDIATE:
        return (
            "expired_intermediate",
            f"the chain of {item.thumbprint} ({item.subject_str}) runs through expired intermediate(s) "
            + ", ".join(f"{c.subject_str!r} ({c.thumbprint}, expired {c.not_after.date()})" for c in result.expired),
            detail,
        )
    if item.certificate.signature_hash not in WEAK_HASHES:
        return (
            "chain_invalid",
            f"the chain of {item.thumbprint} ({item.subject_str}) does not validate: {result.error}",
            detail,
        )
    return None


def chain(
    run: CheckRun, item: StoredCertificate, result: ChainResult, evidence: dict, *, fix: str | None, blocker: bool
) -> None:
    detail = {**evidence, "chain": result.to_dict()}
    _missing_aki(run, item, detail)
    _weak_links(run, item, result, detail)
    if result.status == chain_status.VALID:
        return
    broken = _broken_chain(run, item, result, detail)
    if broken is not None:
        code, message, broken_evidence = broken
        run.add(code, message, broken_evidence, fix, blocker=blocker)


def _bundle_failure(run: CheckRun, item: StoredCertificate, evidence: dict, bundle: ChainResult) -> None:
    ctx = run.ctx
    reason = ""
    if bundle.missing is not None:
        key_id = bundle.missing.key_id or "unknown"
        reason = f": nothing in it issues {bundle.missing.dn!r} (key identifier {key_id})"
    elif bundle.untrusted_root is not None:
        reason = f": it ends at {bundle.untrusted_root.subject_str!r}, which the host does not trust" + (
            "" if ctx.desired and ctx.desired.install_root else " (set install_root to install it)"
        )
    run.add(
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


def intended_chain(run: CheckRun, item: StoredCertificate, evidence: dict) -> None:
    result = run.ctx.chain(item.certificate)
    if result.ok:
        chain(run, item, result, evidence, fix=None, blocker=False)
        stray_bundle_certificates(run, item, result, evidence)
        return
    bundle = run.rem.bundle_chain
    if bundle is not None and bundle.ok:
        plan = run.plan
        fix = "install_intermediate" if plan.install_intermediates else "install_root"
        installs = [c.thumbprint for c in plan.install_roots + plan.install_intermediates]
        chain(run, item, result, {**evidence, "installs": installs}, fix=fix, blocker=False)
        _weak_links(run, item, bundle, {**evidence, "chain": bundle.to_dict()})
        return
    if bundle is not None:
        _bundle_failure(run, item, evidence, bundle)
        return
    chain(run, item, result, evidence, fix=None, blocker=True)


def stray_bundle_certificates(run: CheckRun, item: StoredCertificate, result: ChainResult, evidence: dict) -> None:
    """A bundle certificate that is no link of the intended certificate's chain is a wrong bundle.

    Cross-signed links share the subject of the link they stand for, so
    membership is by subject; a stray means the user gave another CA's file.
    """
    desired = run.ctx.desired
    if desired is None or not desired.chain:
        return
    links = {c.subject_name_der for c in result.path}
    stray = [c for c in desired.chain if c.subject_name_der not in links]
    if stray:
        run.add(
            "bundle_does_not_chain",
            f"the certificate bundle (option chain) holds certificates that are not in the chain of the intended "
            f"certificate {item.thumbprint}: " + ", ".join(f"{c.subject_str} ({c.thumbprint})" for c in stray),
            {**evidence, "chain": result.to_dict(), "stray": [c.thumbprint for c in stray]},
            blocker=True,
        )
