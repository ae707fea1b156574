"""One certificate's own health: validity period, revocation, key and signature strength."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import group_key
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import StoredCertificate

WEAK_RSA_BITS = 2048
WEAK_EC_BITS = 256
WEAK_HASHES = ("sha1", "md5", "md2")


def validity(
    run: CheckRun, item: StoredCertificate, evidence: dict, warn_days: int, *, fix: str | None, blocker: bool
) -> None:
    cert, now = item.certificate, run.ctx.now
    if cert.not_after < now:
        run.add(
            "expired",
            f"{item.thumbprint} ({item.subject_str}) expired on {cert.not_after.date()} "
            "(450 4.7.320 Certificate validation failed; event 12016)",
            evidence,
            fix,
            blocker=blocker,
        )
    elif cert.not_before > now:
        run.add(
            "not_yet_valid",
            f"{item.thumbprint} ({item.subject_str}) is not valid before {cert.not_before.isoformat()}",
            evidence,
            fix,
            blocker=blocker,
        )
    elif cert.days_to_expiry(now) <= warn_days:
        staged = [
            i.thumbprint
            for i in run.ctx.groups.get(group_key(item), ())
            if i.certificate.not_after > cert.not_after and i.has_private_key
        ]
        run.add(
            "expiring_soon",
            f"{item.thumbprint} ({item.subject_str}) expires in {cert.days_to_expiry(now)} days "
            f"({cert.not_after.date()})" + (f"; a renewal is staged: {', '.join(staged)}" if staged else ""),
            {**evidence, "days_to_expiry": cert.days_to_expiry(now), "replacement_staged": staged},
            fix,
        )


def revoked(run: CheckRun, item: StoredCertificate, evidence: dict, *, fix: str | None, blocker: bool) -> None:
    if run.ctx.status(item.thumbprint) == "Revoked":
        run.add(
            "revoked",
            f"Exchange reports {item.thumbprint} ({item.subject_str}) as Revoked",
            evidence,
            fix,
            blocker=blocker,
        )


def strength(run: CheckRun, item: StoredCertificate, evidence: dict) -> None:
    cert = item.certificate
    limit = WEAK_RSA_BITS if cert.key_type in ("RSA", "DSA") else WEAK_EC_BITS
    if cert.key_size is not None and cert.key_type in ("RSA", "DSA", "EC") and cert.key_size < limit:
        run.add(
            "weak_key",
            f"{item.thumbprint} ({item.subject_str}) has a {cert.key_size}-bit {cert.key_type} "
            f"key (at least {limit} bits expected)",
            {**evidence, "key_type": cert.key_type, "key_size": cert.key_size},
        )
    if cert.signature_hash in WEAK_HASHES:
        run.add(
            "weak_signature",
            f"{item.thumbprint} ({item.subject_str}) is signed with "
            f"{cert.signature_hash.upper()}, which TLS clients reject",
            {**evidence, "signature_hash": cert.signature_hash},
        )
