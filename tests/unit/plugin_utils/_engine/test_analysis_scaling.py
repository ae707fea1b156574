"""The analysis stays linear in the size of My, and most of it constant: calls counted, never timed.

A host with thousands of certificates in My (not a shape the engine benchmark's
host has: its bulk sits in Root) once made every certificate scan the whole
store again for each connector's TlsCertificateName: 75 million ``group_key``
calls for 5,000 certificates. Then every certificate still had its bound reasons
worked out and was tested against every FQDN a connector selects by. The profiler
hook counts the real calls at two sizes of the same host: the per-certificate work
(one name key each, cached) may grow with My, the rest must not.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from types import CodeType, FrameType

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import analyse, clear_caches
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks import context, selection
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model import names
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from bench import bench_engine
from bench.bench_store_placement import read_result_with_fillers_in
from tests.support.pki import TestPki

GROUP_KEY_CALLS_PER_CERTIFICATE = 3  # two measured: the index of My, and of My as the plan leaves it
COUNTED: dict[str, CodeType] = {
    "group_key": selection.group_key.__code__,
    "name_parsed": names.plain_name_key.__code__,
    "name_parsed_fully": names._parse_cached.__wrapped__.__code__,
    "binding_reasons": context.binding_reasons.__code__,
    "fqdn_compared": selection._matches_fqdn.__code__,
}


def _calls(result: dict, pki: TestPki) -> Counter[str]:
    by_code = {code: name for name, code in COUNTED.items()}
    calls: Counter[str] = Counter()

    def count(frame: FrameType, event: str, _arg: object) -> None:
        if event == "call" and frame.f_code in by_code:
            calls[by_code[frame.f_code]] += 1

    clear_caches()
    snapshot = Snapshot.from_read_result(result)
    sys.setprofile(count)
    try:
        analyse(snapshot, bench_engine.desired_for(pki), bench_engine.NOW)
    finally:
        sys.setprofile(None)
    return calls


def test_per_certificate_work_is_one_name_key_and_the_rest_is_constant(tmp_path: Path) -> None:
    pki = TestPki(now=bench_engine.NOW)
    counted = {}
    for size in (200, 400):
        result = read_result_with_fillers_in("My", size, pki, tmp_path)
        in_my = len(result["stores"]["My"])
        assert in_my > size * 0.9
        calls = _calls(result, pki)
        assert calls["group_key"] <= GROUP_KEY_CALLS_PER_CERTIFICATE * in_my, (size, in_my, calls)
        # One parse per distinct issuer and subject string (a filler root's issuer is its subject).
        assert calls["name_parsed"] + calls["name_parsed_fully"] <= 2 * in_my, (size, in_my, calls)
        counted[size] = calls
    small, large = counted[200], counted[400]
    # Only certificates something binds, names or may present get their reasons worked out; the FQDN
    # selection compares only the copies whose DER or subject holds the name: neither grows with the fillers.
    assert large["binding_reasons"] == small["binding_reasons"], counted
    assert large["fqdn_compared"] == small["fqdn_compared"], counted
