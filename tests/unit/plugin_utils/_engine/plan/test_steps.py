"""The plan's order is one constant, and every action in it has exactly one step builder."""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import (
    ACTION_ORDER,
    STEP_BUILDERS,
    Decisions,
)


def test_every_action_in_the_order_has_one_builder_and_no_builder_is_outside_it() -> None:
    assert list(STEP_BUILDERS) == list(ACTION_ORDER)


def test_nothing_decided_writes_no_step() -> None:
    assert Decisions().raw_steps(None) == []


def test_backups_come_before_every_removal_and_keep_the_removal_order() -> None:
    decisions = Decisions(removals=[("BBBB", "second"), ("AAAA", "first")])
    steps = decisions.raw_steps(None)
    assert [(s["action"], s["params"]["thumbprint"]) for s in steps] == [
        ("backup", "AAAA"),
        ("backup", "BBBB"),
        ("remove", "AAAA"),
        ("remove", "BBBB"),
    ]
    assert [s["reason"] for s in steps if s["action"] == "remove"] == ["first", "second"]
