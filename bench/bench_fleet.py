"""Fleet scale (issue 7, target 4): check mode over 100, 300 and 1,000 lab servers with forks 50.

For each size: a fresh ``fleet`` lab in its own process; one ansible-playbook
run of a check-mode cert_compliance task with the compliance_report callback
(the nightly run); its wall time, the CPU seconds of the whole ansible process
tree (``wait4`` rusage, every reaped worker included) and the peak summed RSS
of that tree (psutil, sampled every 0.1 s); the lab process's CPU over the same
run. Then the lab alone: the same number of agent reads straight from pywinrm,
50 at a time, so the lab's own ceiling is known.

    python -m bench.bench_fleet --servers 100,300,1000      # forks 50
    python -m bench.bench_fleet --servers 4 --forks 2 --json /tmp/x.json   # smoke
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.lab_runs import (
    RESULTS,
    command_counts,
    compliance_args,
    figure,
    lab_cpu_seconds,
    machine,
    ratio,
    run_ansible,
    write_result,
)

QUICK_ARGV = ["--servers", "3", "--forks", "3", "--json", str(RESULTS / "fleet-quick.json")]
TASK = "compliance check"
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


def measure(workdir: Path, servers: int, forks: int) -> dict[str, Any]:
    from tests.lab import start_lab

    began = time.perf_counter()
    lab = start_lab(workdir / f"lab-{servers}", "fleet", hosts=servers)
    lab_start = time.perf_counter() - began
    try:
        assert lab.process is not None
        play = [
            {
                "name": "fleet check",
                "hosts": "exchange",
                "gather_facts": False,
                "tasks": [{"name": TASK, "certwarden.exchange.cert_compliance": compliance_args()}],
            }
        ]
        cpu_before = lab_cpu_seconds(lab.process.pid)
        run = run_ansible(
            play,
            lab.inventory_path,
            workdir / f"run-{servers}",
            forks=forks,
            check=True,
            callbacks=("bench_timing", "certwarden.exchange.compliance_report"),
            env={"CERTWARDEN_REPORT_DIR": str(workdir / f"report-{servers}")},
        )
        lab_cpu = lab_cpu_seconds(lab.process.pid) - cpu_before
        commands = command_counts(lab.dir, lab.hosts)
        load = pywinrm_load(lab, forks)
    finally:
        lab.stop()
    ok = len(run.durations(TASK, "ok"))
    if run.rc != 0 or ok != servers:
        raise RuntimeError(f"{servers} servers: exit {run.rc}, {ok} ok results; see {run.output_path}")
    return {
        "servers": servers,
        "forks": forks,
        "lab_start_seconds": lab_start,
        "wall_seconds": run.wall_seconds,
        "controller_cpu_seconds": run.cpu_seconds,
        "peak_rss_mib": run.peak_rss_bytes / MIB,
        "peak_pss_mib": run.peak_pss_bytes / MIB,
        "peak_main_rss_mib": run.peak_main_rss_bytes / MIB,
        "peak_processes": run.peak_processes,
        "lab_cpu_seconds": lab_cpu,
        "winrm_commands": sum(len(kinds) for kinds in commands.values()),
        "per_server": {
            "wall_ms": run.wall_seconds / servers * 1000,
            "controller_cpu_ms": run.cpu_seconds / servers * 1000,
            "lab_cpu_ms": lab_cpu / servers * 1000,
        },
        "lab_alone": load,
    }


def growth(first: dict[str, float], last: dict[str, float]) -> dict[str, float | None]:
    """Each per-server figure of the largest run over the smallest's; None where the smallest measured 0."""
    return {key: ratio(last[key], first[key]) for key in first}


def _print(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'servers':>7} {'forks':>5} {'wall s':>8} {'ctl CPU s':>9} {'peak RSS MiB':>12} {'peak PSS MiB':>12} "
        f"{'main RSS MiB':>12} {'lab CPU s':>9} "
        f"{'ms/server':>9} {'CPU ms/server':>13} {'lab alone reads/s':>17} {'lab start s':>11}"
    )
    for r in rows:
        print(
            f"{r['servers']:>7} {r['forks']:>5} {r['wall_seconds']:>8.1f} {r['controller_cpu_seconds']:>9.1f} "
            f"{r['peak_rss_mib']:>12.0f} {r['peak_pss_mib']:>12.0f} {r['peak_main_rss_mib']:>12.0f} "
            f"{r['lab_cpu_seconds']:>9.1f} {r['per_server']['wall_ms']:>9.0f} "
            f"{r['per_server']['controller_cpu_ms']:>13.0f} {figure(r['lab_alone']['reads_per_second'], '>17.0f')} "
            f"{r['lab_start_seconds']:>11.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_fleet", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--servers", default="100,300,1000", help="comma-separated fleet sizes")
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--json", type=Path, default=RESULTS / "fleet.json")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.servers.split(",") if s.strip()]
    document: dict[str, Any] = {"benchmark": "fleet", "machine": machine(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as temp:
        for servers in sizes:
            document["runs"].append(measure(Path(temp), servers, args.forks))
            _print(document["runs"][-1:])
    runs = document["runs"]
    if len(runs) > 1:
        document["growth"] = growth(runs[0]["per_server"], runs[-1]["per_server"])
        print(
            "per-server cost, largest over smallest: "
            + ", ".join(f"{k} {figure(v, '.2f')}" for k, v in document["growth"].items())
        )
    print(f"\nwritten: {write_result('fleet', document, args.json)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
