"""_engine/plan/restarts: which service a change needs restarted, decided from the store's presentation alone."""

from __future__ import annotations

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.restarts import (
    planned_restarts,
    restart_steps,
    restarts_needed,
    stored_presentation,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.simulate import apply_plan
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step
from tests.support.pki import TestPki
from tests.unit.scenario_helpers import bound_to

SMTP = ["MSExchangeFrontEndTransport", "MSExchangeTransport"]


def test_a_missing_intermediate_installed_changes_smtp_and_iis(pki: TestPki) -> None:
    before = bound_to(pki, pki.renewed, ca=(pki.issuing_ca,))
    after = bound_to(pki, pki.renewed)
    old, new = stored_presentation(before, pki.now), stored_presentation(after, pki.now)
    assert old["SMTP"].certificate == new["SMTP"].certificate == pki.renewed.thumbprint
    assert not old["SMTP"].complete and new["SMTP"].complete
    assert new["IIS"].chain == tuple(c.thumbprint for c in pki.chain)
    assert list(restarts_needed(before, after, pki.now)) == [*SMTP, "W3SVC"]


def test_a_binding_moved_restarts_iis_only(pki: TestPki) -> None:
    before = bound_to(pki, pki.renewed, my=(pki.renewed, pki.leaf))
    move = Step(
        1, "set_iis_binding", {"site": "Default Web Site", "binding": "*:443:", "thumbprint": pki.leaf.thumbprint}, ""
    )
    after = apply_plan(before, [move])
    assert list(restarts_needed(before, after, pki.now)) == ["W3SVC"]


def test_nothing_presented_changes_nothing_restarts(pki: TestPki) -> None:
    state = bound_to(pki, pki.renewed)
    assert restarts_needed(state, state, pki.now) == {}
    assert planned_restarts("when_needed", state, restarts_needed(state, state, pki.now)) == {}
    assert planned_restarts("never", state, {}) == {}
    assert list(planned_restarts("always", state, {})) == [*SMTP, "W3SVC"]


def test_restart_steps_follow_the_plan_and_refuse_an_unknown_mode(pki: TestPki) -> None:
    state = bound_to(pki, pki.renewed)
    steps = restart_steps({"W3SVC": "why"}, [])
    assert [(s.id, s.action, dict(s.params)) for s in steps] == [(1, "restart_service", {"service": "W3SVC"})]
    with pytest.raises(ValueError, match="restart_services 'sometimes'"):
        planned_restarts("sometimes", state, {})
