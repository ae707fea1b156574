"""The check table names, for every finding code the engine emits, the checks that can emit it."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.families import (
    CHECKS,
    CHECKS_BY_CODE,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.findings import CODES

# Emitted by the evidence readers (TLS probe, protocol logs), not by a check over a snapshot.
EVIDENCE_ONLY = {"starttls_not_offered", "tls_failure_logged", "restart_pending", "restart_needed"}


def test_every_engine_code_has_a_check() -> None:
    assert set(CHECKS_BY_CODE) == set(CODES) - EVIDENCE_ONLY


def test_check_names_are_unique() -> None:
    names = [check.name for check in CHECKS]
    assert len(names) == len(set(names))


def test_a_store_wide_run_skips_the_desired_state_checks() -> None:
    store_wide = [check.name for check in CHECKS if not check.needs_desired]
    assert store_wide == ["duplicates", "connectors", "internal_transport", "missing_targets", "in_use"]
