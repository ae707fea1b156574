"""The same host analysed with its thousands of certificates in My, then in Root.

The engine benchmark's host keeps its bulk in Root and AuthRoot, as most servers
do; a server that accumulated thousands of certificates in My (auto-enrolment
gone wrong, a renewal script that never cleaned up) exercises every per-copy
check and the connector selection instead. It measures the analysis of N in My
divided by the analysis of the same N in Root.

Each figure is the median of ``--repeat`` cold runs (``Snapshot.from_read_result``
+ ``analyse``), runs of the two placements alternating (which goes first alternates
too); the ratio is given as the ratio of the medians and as the median of the
per-pair ratios, which a machine shared with other work disturbs far less.

    python -m bench.bench_store_placement                 # 5,000 certificates
    python -m bench.bench_store_placement --size 200 --repeat 1 --json /tmp/x.json   # smoke
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import analyse, clear_caches
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from bench.bench_engine import NOW, RESULTS, build_read_result, desired_for
from bench.lab_runs import machine, ratio, write_result
from tests.support.pki import TestPki

QUICK_ARGV = ["--size", "300", "--repeat", "1", "--json", str(RESULTS / "store-placement-quick.json")]


def read_result_with_fillers_in(store: str, size: int, pki: TestPki, cache_dir: Path = RESULTS) -> dict:
    """The engine benchmark's host of ``size`` certificates, its filler roots moved into ``store``."""
    result = build_read_result(size, pki, cache_dir)
    stores = result["stores"]
    fillers = stores["Root"][1:] + stores["AuthRoot"]  # Root's first entry is the test PKI's own root
    stores["Root"], stores["AuthRoot"] = stores["Root"][:1], []
    stores[store] = stores.get(store, []) + fillers
    return result


def _seconds(result: dict, pki: TestPki) -> float:
    clear_caches()
    began = time.perf_counter()
    analyse(Snapshot.from_read_result(result), desired_for(pki), NOW)
    return time.perf_counter() - began


def measure(size: int, repeat: int) -> dict:
    pki = TestPki(now=NOW)
    hosts = {store: read_result_with_fillers_in(store, size, pki) for store in ("My", "Root")}
    times: dict[str, list[float]] = {"My": [], "Root": []}
    for run in range(repeat):
        # Pairs alternate which placement goes first, so a machine slowing down or warming up hits both.
        for store in ("My", "Root") if run % 2 == 0 else ("Root", "My"):
            times[store].append(_seconds(hosts[store], pki))
    medians = {store: statistics.median(values) for store, values in times.items()}
    pair_ratios = [mine / root for mine, root in zip(times["My"], times["Root"], strict=True) if root > 0]
    return {
        "certificates": size,
        "repeat": repeat,
        "in_my_seconds": round(medians["My"], 3),
        "in_root_seconds": round(medians["Root"], 3),
        "my_over_root": ratio(medians["My"], medians["Root"]),
        "my_over_root_pairs_median": round(statistics.median(pair_ratios), 2) if pair_ratios else None,
        "my_over_root_pairs": [round(r, 2) for r in pair_ratios],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_store_placement", description=__doc__.split("\n", maxsplit=1)[0]
    )
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=RESULTS / "store-placement.json")
    args = parser.parse_args(argv)
    run = measure(args.size, args.repeat)
    document = {"benchmark": "store_placement", "machine": machine(), "runs": [run]}
    print(
        f"{run['certificates']} certificates, median of {run['repeat']}: in My {run['in_my_seconds']} s, "
        f"in Root {run['in_root_seconds']} s, My / Root {run['my_over_root']} "
        f"(median of the {run['repeat']} paired ratios: {run['my_over_root_pairs_median']})"
    )
    print(f"\nwritten: {write_result('store_placement', document, args.json)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
