"""The analysis stays linear in the size of My: calls counted, never timed.

A host with thousands of certificates in My (not a shape the engine benchmark's
host has: its bulk sits in Root) once made every certificate scan the whole
store again for each connector's TlsCertificateName: 75 million ``group_key``
calls for 5,000 certificates. The profiler hook counts the real calls.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import analyse, clear_caches
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks import selection
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from bench import bench_engine
from bench.bench_store_placement import read_result_with_fillers_in
from tests.support.pki import TestPki

CALLS_PER_CERTIFICATE = 20  # about 13 measured: parsing, grouping, selection, checks


def _group_key_calls(result: dict, pki: TestPki) -> int:
    code = selection.group_key.__code__
    calls = 0

    def count(frame: FrameType, event: str, _arg: object) -> None:
        nonlocal calls
        if event == "call" and frame.f_code is code:
            calls += 1

    clear_caches()
    snapshot = Snapshot.from_read_result(result)
    sys.setprofile(count)
    try:
        analyse(snapshot, bench_engine.desired_for(pki), bench_engine.NOW)
    finally:
        sys.setprofile(None)
    return calls


def test_group_key_calls_grow_linearly_with_my(tmp_path: Path) -> None:
    pki = TestPki(now=bench_engine.NOW)
    for size in (200, 400):
        result = read_result_with_fillers_in("My", size, pki, tmp_path)
        in_my = len(result["stores"]["My"])
        assert in_my > size * 0.9
        calls = _group_key_calls(result, pki)
        assert calls <= CALLS_PER_CERTIFICATE * in_my, (size, in_my, calls)
