"""The table of checks: each finding family, the codes it emits and the function that judges it.

Store-wide checks always run (duplicates, connectors that name nothing or
several copies, the certificates in use now). The desired-state checks run
only when a desired state is given, and judge the intended certificate and
every binding the user asked for. ``CHECKS`` is also the order findings are
reported in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.backup_folder import backup_folder
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.bindings import desired_bindings
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun, Report
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.connectors import binders
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.context import Context
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.duplicates import (
    duplicates,
    internal_transport,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.end_state import plan_end_state
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.in_use import bound_certificates
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.intended import intended
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.missing_targets import (
    binding_targets_missing,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.retired import retired
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.decide import Remediation

__all__ = ["CHECKS", "CHECKS_BY_CODE", "Check", "Report", "run_checks"]

_CHAIN_CODES = (
    "incomplete_chain",
    "untrusted_root",
    "expired_intermediate",
    "chain_invalid",
    "missing_authority_key_identifier",
)
_CERTIFICATE_CODES = ("expired", "not_yet_valid", "expiring_soon", "revoked", "weak_key", "weak_signature")


@dataclass(frozen=True)
class Check:
    """One finding family: ``judge`` adds findings whose codes are all in ``codes``."""

    name: str
    judge: Callable[[CheckRun], None]
    codes: tuple[str, ...]
    needs_desired: bool = False


CHECKS: tuple[Check, ...] = (
    Check("duplicates", duplicates, ("duplicate_certificate",)),
    Check(
        "connectors",
        binders,
        ("connector_certificate_not_found", "connector_ambiguous", "service_not_enabled"),
    ),
    Check("internal_transport", internal_transport, ("internal_transport_certificate",)),
    Check("missing_targets", binding_targets_missing, ("binding_certificate_missing",)),
    Check(
        "intended",
        intended,
        (
            "missing_intended_certificate",
            "no_private_key",
            "service_not_enabled",
            "name_not_covered",
            "bundle_does_not_chain",
            *_CERTIFICATE_CODES,
            *_CHAIN_CODES,
        ),
        needs_desired=True,
    ),
    Check(
        "desired_bindings",
        desired_bindings,
        (
            "connector_not_found",
            "hybrid_not_found",
            "iis_binding_not_found",
            "connector_mismatch",
            "hybrid_mismatch",
            "iis_binding_mismatch",
            "wrong_certificate_presented",
        ),
        needs_desired=True,
    ),
    Check("retired", retired, ("retired_certificate_present", "retired_certificate_bound"), needs_desired=True),
    Check("backup_folder", backup_folder, ("backup_folder_refused",), needs_desired=True),
    Check("in_use", bound_certificates, ("no_private_key", *_CERTIFICATE_CODES, *_CHAIN_CODES)),
    # Last: it judges the final plan, and only when no other check refused it.
    Check("end_state", plan_end_state, ("plan_breaks_binding",), needs_desired=True),
)


def _by_code() -> Mapping[str, tuple[Check, ...]]:
    table: dict[str, list[Check]] = {}
    for check in CHECKS:
        for code in check.codes:
            table.setdefault(code, []).append(check)
    return MappingProxyType({code: tuple(checks) for code, checks in table.items()})


# Which checks can emit a code: where to look when a finding needs changing.
CHECKS_BY_CODE: Mapping[str, tuple[Check, ...]] = _by_code()


def run_checks(ctx: Context, remediation: Remediation) -> Report:
    run = CheckRun(ctx, remediation)
    for check in CHECKS:
        if check.needs_desired and ctx.desired is None:
            continue
        check.judge(run)
    return run.report
