"""Benchmark: the engine's full analysis of a host against the cost of loading its certificates.

It measures ``Snapshot.from_read_result`` + ``analyse`` (parse, chains,
selection, checks, plan) of a server carrying N certificates (N = 1,000 and
10,000), divided by the time ``cryptography`` alone needs for the same
certificates: how much the engine adds to the work it cannot avoid.

The floor decodes what the agent sends: for every certificate, base64 -> DER
-> ``x509.load_der_x509_certificate``. The engine must do at least that much.

The host is shaped like a real one: most certificates are self-signed roots
in Root (60 %) and AuthRoot (40 %), a few dozen intermediates sit in CA, and a
handful of leaves in My carry Exchange services, connectors, the hybrid
configuration and an IIS binding (a duplicate group included, so the plan has
a backup and a removal). Distinct roots are signed with a small pool of keys;
the generated DER set is cached under bench/results/ per size (making 10,000
signatures takes a while, and the certificates only need to be distinct).

Every repetition starts cold (the engine's caches are cleared), as a forked
Ansible worker does for each host. Floor and engine runs alternate; the ratio is
the median of the per-pair ratios (robust on a shared machine). Results are
printed and written to bench/results/engine.json.

    python -m bench.bench_engine                  # 1,000 and 10,000 certificates
    python -m bench.bench_engine --quick          # smoke size, a single repetition
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import analyse, clear_caches
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from tests.support.pki import Issued, TestPki, key_for, make_certificate, name
from tests.support.snapshots import (
    cert_entry,
    host_snapshot,
    iis_binding,
    receive_connector,
    send_connector,
    tls_name,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
QUICK_ARGV = ["--quick"]
# A fixed moment, so that the cached certificate set stays valid between runs.
NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
KEY_POOL = 6
INTERMEDIATES = 40
SEND = "Outbound to Office 365"
RECEIVE = "Default Frontend EX01"


def _filler_roots(count: int, cache: Path) -> list[bytes]:
    """``count`` distinct self-signed CA certificates (DER), cached on disk."""
    if cache.exists():
        ders = _read_ders(cache)
        if len(ders) >= count:
            return ders[:count]
    day = dt.timedelta(days=1)
    ders = []
    for i in range(count):
        issued = make_certificate(
            name(f"Bench Root CA {i:05d}", org=f"Bench Trust {i % 97}", ou="Certification Authorities"),
            key_for(f"bench-root-{i % KEY_POOL}"),
            not_before=NOW - (400 + i % 300) * day,
            not_after=NOW + (3000 + i % 900) * day,
            ca=True,
        )
        ders.append(issued.der)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("\n".join(base64.b64encode(d).decode("ascii") for d in ders) + "\n")
    return ders


def _read_ders(path: Path) -> list[bytes]:
    return [base64.b64decode(line) for line in path.read_text().split()]


def _intermediates(pki: TestPki, count: int) -> list[Issued]:
    """Intermediates under the test root (one issuing CA per slot), like a CA store's mixed contents."""
    day = dt.timedelta(days=1)
    out = []
    for i in range(count):
        out.append(
            make_certificate(
                name(f"Bench Intermediate CA {i:03d}", org="Certwarden Trust"),
                key_for(f"bench-intermediate-{i % KEY_POOL}"),
                pki.root,
                not_before=NOW - 200 * day,
                not_after=NOW + 2000 * day,
                ca=True,
                path_length=0,
            )
        )
    return out


def build_read_result(size: int, pki: TestPki, cache_dir: Path = RESULTS) -> dict:
    """A ``read`` result with ``size`` certificates across My, CA, Root and AuthRoot."""
    my = (pki.leaf.without_key(), pki.renewed, pki.expired, pki.rebranded, pki.self_signed)
    intermediates = max(0, min(INTERMEDIATES, size // 25))
    ca = (*pki.chain, *_intermediates(pki, intermediates))
    fillers = max(0, size - len(my) - len(ca) - 1)
    root_ders = _filler_roots(fillers, cache_dir / f"engine-roots-{_bucket(fillers)}.b64")
    name_leaf = tls_name(pki.leaf)
    result = host_snapshot(
        my=my,
        ca=ca,
        root=(pki.root,),
        time_utc=NOW,
        services={
            pki.leaf.thumbprint: ["IIS", "SMTP"],
            pki.renewed.thumbprint: ["SMTP"],
            pki.self_signed.thumbprint: ["SMTP"],
        },
        internal_transport=pki.self_signed.thumbprint,
        send_connectors=[send_connector(SEND, name_leaf), send_connector("Partner relay", None, fqdn="relay.x.com")],
        receive_connectors=[receive_connector(RECEIVE, name_leaf), receive_connector("Client Frontend EX01")],
        hybrid=name_leaf,
        iis_bindings=[iis_binding(pki.leaf.thumbprint), iis_binding(None, site="Exchange Back End", port=444)],
    )
    split = len(root_ders) * 6 // 10
    for index, der in enumerate(root_ders):
        store = "Root" if index < split else "AuthRoot"
        cert = x509.load_der_x509_certificate(der)
        result["stores"][store].append(cert_entry(Issued(cert)))
    return result


def _bucket(count: int) -> int:
    """Cache files are kept per size bucket; a bigger file serves every smaller size."""
    for bucket in (100, 1_000, 10_000, 100_000):
        if count <= bucket:
            return bucket
    return count


def desired_for(pki: TestPki) -> DesiredState:
    return DesiredState(
        thumbprint=pki.renewed.thumbprint,
        services=("IIS", "SMTP"),
        send_connectors=(SEND,),
        receive_connectors=(RECEIVE,),
        hybrid_configuration=True,
        iis_bindings=("Default Web Site:443",),
        server_fqdn_names=(pki.fqdn,),
    )


def _floor(result: dict) -> list[x509.Certificate]:
    """What ``cryptography`` alone needs: decode and load every certificate the agent sent, and keep them."""
    return [
        x509.load_der_x509_certificate(base64.b64decode(entry["der_b64"]))
        for store in result["stores"].values()
        for entry in store
    ]


def _engine(result: dict, desired: DesiredState) -> object:
    snapshot = Snapshot.from_read_result(result)
    return analyse(snapshot, desired, NOW)


def _timed(action: Callable[[], object]) -> float:
    clear_caches()  # every run starts cold, as a fresh Ansible worker does
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def measure(size: int, repeat: int, pki: TestPki | None = None, cache_dir: Path = RESULTS) -> dict:
    """Floor and engine times for one host of ``size`` certificates.

    Floor and engine runs alternate, so that both see the same machine (other processes, CPU clock)
    and each pair gives a ratio; the reported ratio is the median of those, next to the medians and
    minimums of the times themselves.
    """
    pki = pki or TestPki(now=NOW)
    result = build_read_result(size, pki, cache_dir)
    desired = desired_for(pki)
    analysis = _engine(result, desired)  # once up front: proves the host is analysable, warms imports
    certificates = sum(len(s) for s in result["stores"].values())
    floors, engines = [], []
    for _unused in range(repeat):
        floors.append(_timed(lambda: _floor(result)))
        engines.append(_timed(lambda: _engine(result, desired)))
    return {
        "certificates": certificates,
        "repeat": repeat,
        "floor_ms": round(statistics.median(floors) * 1000, 2),
        "engine_ms": round(statistics.median(engines) * 1000, 2),
        "ratio": round(statistics.median(e / f for e, f in zip(engines, floors, strict=True)), 2),
        "ratio_of_minimums": round(min(engines) / min(floors), 2),
        "findings": len(analysis.findings),  # type: ignore[attr-defined]
        "plan_steps": len(analysis.plan),  # type: ignore[attr-defined]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="smoke run: 60 certificates, one repetition")
    parser.add_argument("--output", type=Path, help="default bench/results/engine.json (engine-quick.json)")
    args = parser.parse_args(argv)
    sizes, repeat = ([60], 1) if args.quick else (args.sizes, args.repeat)
    # A smoke run never overwrites the real figures.
    args.output = args.output or RESULTS / ("engine-quick.json" if args.quick else "engine.json")
    pki = TestPki(now=NOW)
    rows = [measure(size, repeat, pki, args.output.parent) for size in sizes]
    columns = list(rows[0])
    print(" | ".join(f"{c:>12}" for c in columns))
    for row in rows:
        print(" | ".join(f"{row[c]:>12}" for c in columns))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "benchmark": "engine",
                "python": sys.version.split()[0],
                "floor": "base64 decode + x509.load_der_x509_certificate of every certificate, kept in a list",
                "ratio": "median over alternating runs of engine time / floor time",
                "runs": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
