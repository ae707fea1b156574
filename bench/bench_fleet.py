"""Fleet scale: the nightly run over 100, 300 and 1,000 lab servers at forks 50, against a raw playbook.

For each size, a fresh ``fleet`` lab in its own process, then ``--pairs`` pairs of
ansible-playbook runs, alternating: the one-task raw playbook (``ansible.builtin.raw:
exit 0`` on every server) and the nightly (``playbooks/compliance.yml --check`` with
the compliance_report callback), so that drift on a shared machine hits both. Each
run is measured from outside (``bench.lab_runs.run_ansible``): wall time, CPU of the
whole ansible process tree (``wait4``), peak summed PSS and RSS of the tree, the main
process's RSS, and the lab process's CPU. The ratios are the medians of the per-pair
ratios (nightly / raw). The nightly's WinRM commands and Exchange loads per server are
counted from the lab's request log, its tasks per server (each a forked worker) from the
timing callback. Then the lab alone: one agent read per host
straight from pywinrm, ``--forks`` at a time, so the lab's own ceiling is known.

``--server-costs`` gives every lab host a real server's fixed costs
(``bench.lab_runs.REAL_SERVER_COSTS``, sources in docs/lab.md): the wall times then
show what a user waits for; without it (the default) they show the controller.

    python -m bench.bench_fleet --servers 100,300,1000                 # forks 50, 3 pairs
    python -m bench.bench_fleet --servers 9 --forks 9 --pairs 7         # nine servers, one fork each
    python -m bench.bench_fleet --servers 100 --pairs 1 --server-costs  # what a user waits for
    python -m bench.bench_fleet --servers 9 --forks 9 --system-trust    # probes trusting the system's roots
    python -m bench.bench_fleet --servers 3 --forks 3 --pairs 1 --json /tmp/x.json   # smoke
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.lab_runs import (
    REAL_SERVER_COSTS,
    REPO,
    RESULTS,
    AnsibleRun,
    command_counts,
    figure,
    lab_cpu_seconds,
    machine,
    median,
    ratio,
    run_ansible,
    write_result,
)

QUICK_ARGV = ["--servers", "3", "--forks", "3", "--pairs", "1", "--json", str(RESULTS / "fleet-quick.json")]
NIGHTLY = REPO / "playbooks" / "compliance.yml"
RAW_PLAY = [
    {
        "name": "raw no-op",
        "hosts": "exchange",
        "gather_facts": False,
        "tasks": [{"name": "raw no-op", "ansible.builtin.raw": "exit 0"}],
    }
]
MIB = 2**20


def pywinrm_load(lab: Any, concurrency: int) -> dict[str, Any]:
    """One agent read per host straight from pywinrm, ``concurrency`` at a time: what the lab can serve."""
    from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import load_agent_script
    from tests.lab.client import LabClient

    agent = load_agent_script()

    def read(host: str) -> bool:
        return LabClient(lab, host).agent("read", agent_text=agent).rc == 0

    cpu_before = lab_cpu_seconds(lab.process.pid)
    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        ok = sum(pool.map(read, lab.hosts))
    wall = time.perf_counter() - began
    return {
        "reads": len(lab.hosts),
        "ok": ok,
        "concurrency": concurrency,
        "wall_seconds": wall,
        "lab_cpu_seconds": lab_cpu_seconds(lab.process.pid) - cpu_before,
        "reads_per_second": ratio(len(lab.hosts), wall),
    }


def system_trust(lab: Any, workdir: Path) -> dict[str, Any]:
    """How the nightly trusts the system's roots, as the roles do by default, with the lab's root added.

    The lab's inventory names the lab's own small trust bundle. A real controller's probes read the
    system's bundle (``certwarden_probe_ca_bundle`` empty, the roles' default): some 140 roots. Here
    that bundle is the system's with the lab's root appended, named by ``SSL_CERT_FILE`` (where OpenSSL,
    and so the probes, look first), so the lab's servers still validate.
    """
    from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.trust_bundle import system_bundle

    system = system_bundle()
    if system is None:
        raise RuntimeError("--system-trust: this machine has no system CA bundle")
    bundle = workdir / "system-and-lab-roots.pem"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.write_bytes(Path(system).read_bytes() + (lab.dir / "pki" / "probe-trust.pem").read_bytes())
    return {"env": {"SSL_CERT_FILE": str(bundle)}, "extra_vars": {"certwarden_probe_ca_bundle": ""}}


def _one_run(
    lab: Any, workdir: Path, kind: str, forks: int, nightly: Path, *, trust: dict[str, Any] | None = None
) -> tuple[AnsibleRun, float]:
    cpu_before = lab_cpu_seconds(lab.process.pid)
    if kind == "nightly":
        trust = trust or {}
        run = run_ansible(
            nightly,
            lab.inventory_path,
            workdir,
            forks=forks,
            check=True,
            callbacks=("bench_timing", "certwarden.exchange.compliance_report"),
            env={"CERTWARDEN_REPORT_DIR": str(workdir / "report"), **trust.get("env", {})},
            extra_vars=trust.get("extra_vars"),
        )
    else:
        run = run_ansible(RAW_PLAY, lab.inventory_path, workdir, forks=forks)
    if run.rc != 0:
        raise RuntimeError(f"{kind} on {len(lab.hosts)} servers: exit {run.rc}; see {run.output_path}")
    return run, lab_cpu_seconds(lab.process.pid) - cpu_before


def _summary(runs: list[tuple[AnsibleRun, float]], servers: int) -> dict[str, Any]:
    walls = [r.wall_seconds for r, _unused in runs]
    cpus = [r.cpu_seconds for r, _unused in runs]
    return {
        "wall_seconds": walls,
        "controller_cpu_seconds": cpus,
        "lab_cpu_seconds": [lab for _unused, lab in runs],
        "peak_pss_mib": max(r.peak_pss_bytes for r, _unused in runs) / MIB,
        "peak_rss_mib": max(r.peak_rss_bytes for r, _unused in runs) / MIB,
        "peak_main_rss_mib": max(r.peak_main_rss_bytes for r, _unused in runs) / MIB,
        "peak_processes": max(r.peak_processes for r, _unused in runs),
        "median_wall_ms_per_server": median(walls) / servers * 1000,
        "median_cpu_ms_per_server": median(cpus) / servers * 1000,
    }


def measure(
    workdir: Path,
    servers: int,
    forks: int,
    pairs: int,
    *,
    server_costs: bool = False,
    nightly: Path = NIGHTLY,
    with_system_trust: bool = False,
) -> dict[str, Any]:
    from tests.lab import start_lab
    from tests.lab.costs import ServerCosts

    costs = ServerCosts(**REAL_SERVER_COSTS) if server_costs else None
    began = time.perf_counter()
    lab = start_lab(workdir / f"lab-{servers}", "fleet", hosts=servers, costs=costs)
    lab_start = time.perf_counter() - began
    runs: dict[str, list[tuple[AnsibleRun, float]]] = {"raw": [], "nightly": []}
    nightly_counts: dict[str, float] = {}
    try:
        assert lab.process is not None
        trust = system_trust(lab, workdir / f"trust-{servers}") if with_system_trust else None
        for pair in range(pairs):
            for kind in ("raw", "nightly") if pair % 2 == 0 else ("nightly", "raw"):
                before = _request_counts(lab)
                runs[kind].append(
                    _one_run(lab, workdir / f"{kind}-{servers}-{pair}", kind, forks, nightly, trust=trust)
                )
                if kind == "nightly" and not nightly_counts:
                    after = _request_counts(lab)
                    nightly_counts = {action: (after[action] - before[action]) / servers for action in after}
                    # Every task result the timing callback saw is one worker forked for one server.
                    nightly_counts["task"] = len(runs["nightly"][-1][0].timings) / servers
        load = pywinrm_load(lab, forks)
    finally:
        lab.stop()
    pairs_run = list(zip((run for run, _unused in runs["nightly"]), (run for run, _unused in runs["raw"]), strict=True))
    pair_wall = [ratio(nightly.wall_seconds, raw.wall_seconds) for nightly, raw in pairs_run]
    pair_cpu = [ratio(nightly.cpu_seconds, raw.cpu_seconds) for nightly, raw in pairs_run]
    return {
        "servers": servers,
        "forks": forks,
        "pairs": pairs,
        "server_costs": REAL_SERVER_COSTS if server_costs else None,
        "nightly_playbook": str(nightly),
        "system_trust": with_system_trust,
        "lab_start_seconds": lab_start,
        "raw": _summary(runs["raw"], servers),
        "nightly": _summary(runs["nightly"], servers),
        "nightly_per_server": {
            "winrm_commands": nightly_counts["command"],
            "exchange_loads": nightly_counts["exchange_load"],
            "tasks": nightly_counts["task"],
        },
        "ratio": {
            "wall_pairs": pair_wall,
            "cpu_pairs": pair_cpu,
            "wall": _median_of(pair_wall),
            "cpu": _median_of(pair_cpu),
        },
        "lab_alone": load,
    }


def _request_counts(lab: Any) -> dict[str, int]:
    """WinRM commands and Exchange loads of the whole lab so far, from the request logs."""
    return {
        action: sum(len(kinds) for kinds in command_counts(lab.dir, lab.hosts, action).values())
        for action in ("command", "exchange_load")
    }


def _median_of(values: list[float | None]) -> float | None:
    measured = [v for v in values if v is not None]
    return median(measured) if measured else None


def growth(first: dict[str, float], last: dict[str, float]) -> dict[str, float | None]:
    """Each per-server figure of the largest run over the smallest's; None where the smallest measured 0."""
    return {key: ratio(last[key], first[key]) for key in first}


def _per_server(run: dict[str, Any]) -> dict[str, float]:
    nightly = run["nightly"]
    return {"wall_ms": nightly["median_wall_ms_per_server"], "controller_cpu_ms": nightly["median_cpu_ms_per_server"]}


def _print(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'servers':>7} {'forks':>5} {'pairs':>5} {'raw wall s':>10} {'nightly wall s':>14} {'wall ratio':>10} "
        f"{'raw CPU s':>9} {'nightly CPU s':>13} {'CPU ratio':>9} {'peak PSS MiB (raw/nightly)':>26} "
        f"{'cmds/server':>11} {'loads/server':>12} {'tasks/server':>12}"
    )
    for r in rows:
        raw, nightly = r["raw"], r["nightly"]
        print(
            f"{r['servers']:>7} {r['forks']:>5} {r['pairs']:>5} {median(raw['wall_seconds']):>10.1f} "
            f"{median(nightly['wall_seconds']):>14.1f} {figure(r['ratio']['wall'], '.2f'):>10} "
            f"{median(raw['controller_cpu_seconds']):>9.1f} {median(nightly['controller_cpu_seconds']):>13.1f} "
            f"{figure(r['ratio']['cpu'], '.2f'):>9} {raw['peak_pss_mib']:>12.0f} / {nightly['peak_pss_mib']:<11.0f} "
            f"{r['nightly_per_server']['winrm_commands']:>11.2f} {r['nightly_per_server']['exchange_loads']:>12.2f} "
            f"{r['nightly_per_server']['tasks']:>12.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_fleet", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--servers", default="100,300,1000", help="comma-separated fleet sizes")
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=3, help="raw/nightly pairs per size, alternating")
    parser.add_argument("--server-costs", action="store_true", help="give the lab hosts a real server's fixed costs")
    parser.add_argument(
        "--playbook", type=Path, default=NIGHTLY, help="the nightly side, run with --check (default: %(default)s)"
    )
    parser.add_argument(
        "--system-trust",
        action="store_true",
        help="the nightly's probes trust the system's roots (the roles' default) plus the lab's root",
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "fleet.json")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.servers.split(",") if s.strip()]
    document: dict[str, Any] = {"benchmark": "fleet", "machine": machine(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as temp:
        for servers in sizes:
            document["runs"].append(
                measure(
                    Path(temp),
                    servers,
                    args.forks,
                    args.pairs,
                    server_costs=args.server_costs,
                    nightly=args.playbook.resolve(),
                    with_system_trust=args.system_trust,
                )
            )
            _print(document["runs"][-1:])
    runs = document["runs"]
    if len(runs) > 1:
        document["growth"] = growth(_per_server(runs[0]), _per_server(runs[-1]))
        print(
            "nightly per-server cost, largest fleet over smallest: "
            + ", ".join(f"{key} {figure(value, '.2f')}" for key, value in document["growth"].items())
        )
    print(f"\nwritten: {write_result('fleet', document, args.json)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
