"""Cost per server of each transport: a cert_facts read through the real ansible-playbook, per way of connecting.

One lab with the transport hosts (docs/lab.md, "Transports"); every task is a
new connection (ansible's winrm and psrp plugins authenticate per task), so a
task's time is what one server costs with that transport: authentication legs,
message encryption, the shell or runspace, the agent's read. Tasks run with one
fork, host after host, alternating, so drift on a shared machine hits every
transport alike. Also recorded: how long the lab's KDC took to start.

    python -m bench.bench_transports                  # --repeat 5
    python -m bench.bench_transports --repeat 1 --json /tmp/x.json   # smoke
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.lab_runs import RESULTS, figure, machine, median, run_ansible, write_result
from tests.lab import start_lab
from tests.lab.kdc import kdc_files
from tests.lab.state import read_json
from tests.lab.transports import TRANSPORT_HOSTS

QUICK_ARGV = ["--repeat", "1", "--json", str(RESULTS / "transports-quick.json")]
TASK = "cert_facts"


def _plays(repeat: int) -> list[dict[str, Any]]:
    return [
        {
            "name": f"read {round_}",
            "hosts": "transports",
            "gather_facts": False,
            "tasks": [{"name": TASK, "certwarden.exchange.cert_facts": {}}],
        }
        for round_ in range(repeat)
    ]


def measure(repeat: int, workdir: Path) -> dict[str, Any]:
    began = time.perf_counter()
    lab = start_lab(workdir / "lab", "healthy", transports=True)
    lab_start = time.perf_counter() - began
    try:
        recorded = read_json(lab.dir / "lab.json")
        kdc = recorded.get("kdc", {})
        env = {"KRB5_CONFIG": str(kdc_files(lab.dir).krb5_conf)}
        run = run_ansible(_plays(repeat), lab.inventory_path, workdir / "run", forks=1, env=env)
        rows = []
        for host in TRANSPORT_HOSTS:
            ok = [t["seconds"] for t in run.timings if t["host"] == host.name and t["status"] == "ok"]
            rows.append(
                {
                    "host": host.name,
                    "connection": host.connection,
                    "mechanism": host.mechanisms[0],
                    "scheme": host.scheme,
                    "ok": len(ok),
                    "tasks": sum(t["host"] == host.name for t in run.timings),
                    "median_seconds": round(median(ok), 4) if ok else None,
                }
            )
        return {
            "lab_start_seconds": round(lab_start, 3),
            "kdc_provision_seconds": recorded.get("kdc_provision_seconds"),
            "kdc_start_seconds": kdc.get("start_seconds"),
            "repeat": repeat,
            "rc": run.rc,
            "hosts": rows,
        }
    finally:
        lab.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_transports", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="cert_facts reads per host")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-transports-") as folder:
        document = {"machine": machine(), **measure(args.repeat, Path(folder))}
    path = write_result("transports", document, args.json)
    print(
        f"KDC provisioning {figure(document['kdc_provision_seconds'], '.3f')} s, "
        f"KDC start {figure(document['kdc_start_seconds'], '.3f')} s, lab start {document['lab_start_seconds']} s"
    )
    for row in document["hosts"]:
        seconds = figure(row["median_seconds"], ".3f")
        print(f"{row['host']:24} {row['connection']:5} {row['mechanism']:8} {row['scheme']:5} {seconds} s/read")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
