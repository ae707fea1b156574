"""What the action plugins do to stay cheap per task: warm_up.py, plain_values, cycle_collection_paused."""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

import pytest
from ansible._internal._datatag._tags import Origin, TrustedAsTemplate
from ansible.module_utils._internal._datatag import AnsibleTagHelper

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import analyse
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks import chains
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model import certificate, names
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence import trust_bundle
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.trust_bundle import load_trust
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs import warm_up
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import (
    cycle_collection_paused,
    plain_values,
)
from tests.support.pki import TestPki


def test_the_sample_server_is_a_valid_read_result_that_the_engine_judges_and_plans() -> None:
    # If the read schema or the engine moves on and the sample no longer parses, the warm-up
    # would silently warm nothing: this keeps the sample honest.
    now = dt.datetime.now(dt.UTC)
    snapshot = Snapshot.from_read_result(warm_up.sample_read_result(now))
    analysis = analyse(snapshot, warm_up.sample_desired_state(snapshot.store("My")[0].thumbprint), now)
    codes = sorted(f.code for f in analysis.findings)
    assert codes == ["connector_mismatch", "service_not_enabled"], codes
    assert [step.action for step in analysis.plan] == ["enable_services", "set_connector"]


def test_warm_up_succeeds_and_leaves_no_cached_state_behind() -> None:
    warm_up.warm_up.cache_clear()
    assert warm_up.warm_up() is True
    assert not certificate._CACHE
    assert not chains._VERIFIERS
    assert names._parse_cached.cache_info().currsize == 0


def test_warm_probes_parses_the_system_bundle_for_every_later_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "system.pem"
    bundle.write_bytes(TestPki().root.pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # where OpenSSL, and so system_bundle(), looks first
    warm_up.warm_probes.cache_clear()
    try:
        assert warm_up.warm_probes() is True
        assert trust_bundle._PARSED[str(bundle)][1] is load_trust(None)
    finally:
        warm_up.warm_probes.cache_clear()


def test_warm_probes_without_a_system_bundle_is_only_a_lost_optimisation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trust_bundle, "system_bundle", lambda: None)
    warm_up.warm_probes.cache_clear()
    try:
        assert warm_up.warm_probes() is False
    finally:
        warm_up.warm_probes.cache_clear()


def test_plain_values_drops_ansible_tags_and_keeps_every_value() -> None:
    tagged = AnsibleTagHelper.tag("Outbound", (Origin(path="/play.yml", line_num=3), TrustedAsTemplate()))
    args = {"send_connectors": [tagged], "hybrid_configuration": True, "expiry_warning_days": 30, "x": None}
    plain = plain_values(args)
    assert plain == {**args, "send_connectors": ["Outbound"]}
    assert plain["send_connectors"][0].__class__ is str  # not a str subclass carrying tags
    assert plain["hybrid_configuration"] is True
    assert AnsibleTagHelper.tags(plain["send_connectors"][0]) == frozenset()


def test_plain_values_passes_unknown_objects_through_unchanged() -> None:
    marker = object()
    assert plain_values({"a": marker})["a"] is marker


def test_cycle_collection_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with cycle_collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_cycle_collection_stays_off_when_it_was_off() -> None:
    gc.disable()
    try:
        with pytest.raises(RuntimeError), cycle_collection_paused():
            raise RuntimeError("the task failed")
        assert not gc.isenabled()
    finally:
        gc.enable()
