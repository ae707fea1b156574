"""smtp_tls_probe: what a mail server presents, judged the way a strict peer would.

:mod:`probe_wire` captures the dialogue and the chain; this module judges it:

* the chain the server SENT (not what this controller could complete from its
  own stores) must reach a trusted root, because Exchange Online does not
  fetch missing intermediates (``450 4.4.317 ... [Message=UntrustedRoot]``);
* the leaf must be the expected certificate (a duplicate left by a renewal is
  the classic wrong one), valid now, and cover the name the peer asks for.

Paths are built by the engine's :mod:`chains` (``cryptography.x509.verification``);
the name check is ``cryptography``'s own too.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.chains import (
    EXPIRED_INTERMEDIATE,
    INCOMPLETE,
    UNTRUSTED_ROOT,
    VALID,
    ChainResult,
    chain_verifier,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.findings import Finding, finding
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    Certificate,
    InputError,
    normalize_thumbprint,
    parse_certificate,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.probe_wire import (
    ProbeError,
    WireResult,
    controller_fqdn,
    probe,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.trust_bundle import TrustStore, load_trust
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.wire_vs_store import (
    PROTOCOL_BY_TLS,
    parse_stored,
    restart_pending,
)

__all__ = ["ProbeError", "check_endpoint", "describe_chain", "evaluate", "run_probe"]


def describe_chain(chain: Sequence[Certificate]) -> list[dict[str, Any]]:
    """The chain as sent, leaf first: the facts a person compares with the host's store."""
    return [
        {
            "position": index,
            "thumbprint": c.thumbprint,
            "subject": c.subject_str,
            "issuer": c.issuer_str,
            "serial": c.serial,
            "not_before": c.not_before.isoformat(),
            "not_after": c.not_after.isoformat(),
            "sans": list(c.sans),
            "is_ca": c.is_ca,
            "is_self_signed": c.is_self_signed,
        }
        for index, c in enumerate(chain)
    ]


def _short(c: Certificate) -> dict[str, str]:
    return {"thumbprint": c.thumbprint, "subject": c.subject_str}


def _name_covered(leaf: Certificate, server_name: str) -> bool:
    """Does the leaf cover ``server_name``? Asked of cryptography, with the leaf as its own anchor.

    Trusting the leaf itself isolates the name check from the path checks
    (which are reported separately); the moment is one at which the leaf is valid.
    """
    try:
        subject: verification.Subject = verification.IPAddress(ipaddress.ip_address(server_name))
    except ValueError:
        subject = verification.DNSName(server_name)
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([leaf.cert]))
        .time(leaf.not_before)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
            # Only the name matters here; a leaf without SANs covers no name at all.
            ee_policy=verification.ExtensionPolicy.permit_all().require_present(
                x509.SubjectAlternativeName, verification.Criticality.AGNOSTIC, None
            ),
        )
        .build_server_verifier(subject)
    )
    try:
        verifier.verify(leaf.cert, [])
    except verification.VerificationError:
        return False
    return True


def _validity_findings(chain: Sequence[Certificate], now: dt.datetime) -> list[Finding]:
    out = []
    for index, c in enumerate(chain):
        role = "the server's certificate" if index == 0 else f"the intermediate {c.subject_str!r} it sent"
        evidence = {
            **_short(c),
            "position": index,
            "not_before": c.not_before.isoformat(),
            "not_after": c.not_after.isoformat(),
        }
        if now > c.not_after:
            out.append(
                finding(
                    "expired",
                    f"{role} ({c.thumbprint}) expired on {c.not_after:%Y-%m-%d}.",
                    evidence,
                    fix="import_pfx" if index == 0 else "install_intermediate",
                )
            )
        elif now < c.not_before:
            out.append(
                finding(
                    "not_yet_valid",
                    f"{role} ({c.thumbprint}) is not valid before {c.not_before:%Y-%m-%d %H:%M} UTC.",
                    evidence,
                )
            )
    return out


def _not_sent_finding(sent: Sequence[Certificate], completed: ChainResult, trust: TrustStore) -> Finding:
    """The server's chain validates once this side's known intermediates fill the gap: name what it left out."""
    sent_thumbprints = {c.thumbprint for c in sent}
    not_sent = [
        c
        for c in completed.path[1:]
        if c.thumbprint not in sent_thumbprints and not any(c.thumbprint == a.thumbprint for a in trust.anchors)
    ]
    names = ", ".join(repr(c.subject_str) for c in not_sent)
    return finding(
        "incomplete_chain",
        f"the server did not send the intermediate certificate(s) {names}; a strict peer such as Exchange "
        "Online does not fetch them and fails with UntrustedRoot. Install them in the server's "
        "intermediate (CA) store so that it sends them.",
        {
            "sent": [_short(c) for c in sent],
            "not_sent": [_short(c) for c in not_sent],
            "trust_source": trust.source,
        },
        fix="install_intermediate",
    )


def _missing_issuer_finding(sent: Sequence[Certificate], strict: ChainResult, trust: TrustStore) -> Finding:
    missing = strict.missing
    if missing is None:  # narrowing for type checkers; the caller checked it
        raise AssertionError("missing must be set here")
    evidence = {
        "sent": [_short(c) for c in sent],
        "missing_issuer": missing.to_dict(),
        "trust_source": trust.source,
    }
    if len(strict.path) == 1:
        # The leaf's own issuer was not sent: servers must send every intermediate.
        return finding(
            "incomplete_chain",
            f"the server sent its certificate without its issuer {missing.dn!r}; a strict peer such as "
            "Exchange Online does not fetch intermediates and fails with UntrustedRoot.",
            evidence,
            fix="install_intermediate",
        )
    # Intermediates were sent but the top one's issuer is unknown: most likely a root this
    # side does not trust; if it is another intermediate, the server must send that too.
    return finding(
        "untrusted_root",
        f"the chain the server sent ends at {missing.needed_by_subject!r}, issued by {missing.dn!r}, "
        f"which is not a trusted root in {trust.source} (if it is an intermediate, the server must "
        "send it as well).",
        evidence,
        fix="install_root",
    )


def _strict_failure(sent: Sequence[Certificate], strict: ChainResult, trust: TrustStore) -> Finding | None:
    """Why the chain the server sent fails on its own, when the known intermediates do not fix it either."""
    if strict.status == UNTRUSTED_ROOT and strict.untrusted_root is not None:
        root = strict.untrusted_root
        return finding(
            "untrusted_root",
            f"the chain the server sent ends at the self-signed {root.subject_str!r} ({root.thumbprint}), "
            f"which is not among the trusted roots in {trust.source}.",
            {"root": _short(root), "sent": [_short(c) for c in sent], "trust_source": trust.source},
            fix="install_root",
        )
    if strict.status == INCOMPLETE and strict.missing is not None:
        return _missing_issuer_finding(sent, strict, trust)
    if strict.status == EXPIRED_INTERMEDIATE:
        return None  # every sent certificate's validity is reported by _validity_findings
    return finding(
        "chain_invalid",
        f"the chain the server sent does not validate: {strict.error}",
        {"sent": [_short(c) for c in sent], "error": strict.error},
    )


def _chain_findings(sent: Sequence[Certificate], trust: TrustStore, now: dt.datetime) -> list[Finding]:
    leaf, sent_intermediates = sent[0], list(sent[1:])
    strict = chain_verifier(sent_intermediates, trust.anchors, now).verify(leaf)
    out: list[Finding] = [
        finding("missing_authority_key_identifier", warning, {**_short(leaf)}) for warning in strict.warnings
    ]
    if strict.status == VALID:
        return out
    completed = chain_verifier([*sent_intermediates, *trust.intermediates], trust.anchors, now).verify(leaf)
    failure = _not_sent_finding(sent, completed, trust) if completed.ok else _strict_failure(sent, strict, trust)
    if failure is not None:
        out.append(failure)
    return out


def evaluate(
    wire: WireResult,
    *,
    server_name: str,
    expected_thumbprint: str | None,
    trust: TrustStore,
    now: dt.datetime,
    where: str,
) -> tuple[list[Certificate], list[Finding]]:
    """The sent chain as Certificates, and every finding about it."""
    if wire.starttls_offered is False:
        return [], [
            finding(
                "starttls_not_offered",
                f"{where} did not offer STARTTLS in its EHLO reply: mail to it travels unencrypted, and a peer "
                "that requires TLS (Exchange Online's hybrid connectors) cannot deliver. On Exchange, check that "
                "the receive connector's TlsCertificateName names a certificate that exists (event 12014) and "
                "that AuthMechanism includes Tls.",
                {"endpoint": where, "ehlo": list(wire.ehlo_lines)},
                fix="set_connector",
            )
        ]
    chain = [parse_certificate(c.public_bytes(Encoding.DER)) for c in wire.chain]
    if not chain:
        raise ProbeError(f"{where} completed the TLS handshake without sending a certificate")
    leaf = chain[0]
    findings: list[Finding] = []
    if expected_thumbprint and leaf.thumbprint != expected_thumbprint:
        findings.append(
            finding(
                "wrong_certificate_presented",
                f"{where} presented {leaf.thumbprint} ({leaf.subject_str}, valid {leaf.not_before:%Y-%m-%d} to "
                f"{leaf.not_after:%Y-%m-%d}), not the expected {expected_thumbprint}.",
                {
                    "expected": expected_thumbprint,
                    "presented": leaf.thumbprint,
                    "subject": leaf.subject_str,
                    "issuer": leaf.issuer_str,
                    "not_before": leaf.not_before.isoformat(),
                    "not_after": leaf.not_after.isoformat(),
                },
            )
        )
    validity = _validity_findings(chain, now)
    findings.extend(validity)
    for item in _chain_findings(chain, trust, now):
        # A path that validates at no moment because a certificate in it is out of date is
        # already explained by the validity findings; say it once.
        if not (item.code == "chain_invalid" and validity):
            findings.append(item)
    if not _name_covered(leaf, server_name):
        findings.append(
            finding(
                "name_not_covered",
                f"{leaf.thumbprint} does not cover the name {server_name!r} (names on it: "
                f"{', '.join(leaf.sans) or 'none'}).",
                {"server_name": server_name, "sans": list(leaf.sans), **_short(leaf)},
            )
        )
    return chain, findings


def check_endpoint(port: int, timeout: float, option: str = "") -> None:
    """Raise InputError for a port or timeout that cannot mean what was written; ``option`` prefixes the names."""
    if not 0 < port < 65536:
        raise InputError(f"option {option}port: {port} is not a TCP port (1-65535)")
    if timeout <= 0:
        raise InputError(f"option {option}timeout: {timeout} must be a positive number of seconds")


def run_probe(params: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """The module's whole result for validated ``params`` (see the module's DOCUMENTATION).

    The trust bundle is parsed once per unchanged file and process (``load_trust``), however many
    endpoints a task probes. Raises InputError for a bad option and ProbeError when the server cannot
    be probed; both carry a sentence naming the option or the endpoint.
    """
    now = now or dt.datetime.now(dt.UTC)
    host: str = params["host"]
    port: int = params["port"]
    check_endpoint(port, params["timeout"])
    expected = params.get("expected_thumbprint")
    if expected is not None:
        expected = normalize_thumbprint(expected, "expected_thumbprint")
    server_name = params.get("server_name") or host
    trust = load_trust(params.get("ca_bundle"))
    helo_name = params.get("helo_name") or controller_fqdn()
    where = f"{host}:{port}"
    wire = probe(
        host, port, tls=params["tls"], server_name=server_name, helo_name=helo_name, timeout=float(params["timeout"])
    )
    stored = parse_stored(params.get("stored"))
    chain, findings = evaluate(
        wire, server_name=server_name, expected_thumbprint=expected, trust=trust, now=now, where=where
    )
    findings += restart_pending(stored, chain, params["tls"], expected, where)
    return {
        "changed": False,
        "endpoint": where,
        "server_name": server_name,
        "banner": wire.banner,
        "starttls_offered": wire.starttls_offered,
        "tls_version": wire.tls_version,
        "cipher": wire.cipher,
        "chain": describe_chain(chain),
        "protocol": PROTOCOL_BY_TLS[params["tls"]],
        "stored": stored,
        "findings": [f.to_dict() for f in findings],
        "compliant": not any(f.is_error for f in findings),
    }
