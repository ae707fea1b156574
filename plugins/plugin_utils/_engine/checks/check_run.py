"""What every check shares: the context, the remediation, and the report findings are added to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.context import Context
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.findings import Finding, finding
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import StoredCertificate
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.decide import Remediation


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    blockers: list[Finding] = field(default_factory=list)

    def add(self, item: Finding, *, blocker: bool = False) -> None:
        self.findings.append(item)
        if blocker:
            self.blockers.append(item)


class CheckRun:
    """One analysis in progress: checks read ctx and rem and add findings to report."""

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

    def copy_evidence(self, item: StoredCertificate) -> dict[str, Any]:
        """The facts about one certificate in My that every finding about it carries."""
        cert = item.certificate
        return {
            "thumbprint": item.thumbprint,
            "subject": item.subject_str,
            "issuer": item.issuer_str,
            "has_private_key": item.has_private_key,
            "not_before": cert.not_before.isoformat(),
            "not_after": cert.not_after.isoformat(),
            "services": list(self.ctx.services(item.thumbprint)),
            "status": self.ctx.status(item.thumbprint),
        }
