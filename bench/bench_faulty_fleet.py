"""A faulty fleet: 200 lab servers, forks 50, 10 % of them faulty in assorted ways.

Every server starts broken in one of the ways the lab can build (duplicates,
missing intermediates, stale connectors, an expiring binding, ...), so that
"ends compliant" means the run really fixed it. A tenth of them also carry a
fault: auth refused, a stall past the WinRM timeouts, truncated or malformed
agent output, the connection cut during the apply, or nobody listening on the
port at all. One ansible-playbook run of cert_compliance (apply) with the fleet
report must leave every healthy server compliant and report every faulty one
(unreachable or failed, never compliant); a rerun after the faults are cleared
must converge: every server compliant.

    python -m bench.bench_faulty_fleet                         # 200 servers, forks 50, 10 % faulty
    python -m bench.bench_faulty_fleet --servers 10 --forks 5 --faulty-percent 60 --json /tmp/x.json   # smoke
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.lab_runs import RESULTS, machine, run_ansible, write_result

QUICK_ARGV = ["--servers", "10", "--forks", "5", "--faulty-percent", "60", "--json", str(RESULTS / "faulty-quick.json")]
TASK = "compliance"
REPORT_CALLBACK = "certwarden.exchange.compliance_report"
SHORT_TIMEOUTS = {"ansible_winrm_operation_timeout_sec": 2, "ansible_winrm_read_timeout_sec": 4}
# The faults, in the order they are handed out: name -> faults.json (None: nobody listens on the port).
FAULTS: dict[str, dict[str, Any] | None] = {
    "auth refused": {"refuse_auth": True},
    "stalled": {"stall_seconds": 8},
    "truncated output": {"truncate_output": True, "operation": "read"},
    "malformed output": {"malformed_output": True, "operation": "read"},
    "cut during apply": {"drop_before_step": 1, "operation": "apply"},
    "gone": None,  # nobody listens on its port
}


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def plan_cases(servers: int, faulty_percent: float) -> list[Any]:
    """Broken servers of every kind in turn; every ``100 / faulty_percent``-th also carries a fault."""
    from tests.reliability.case_lab import KINDS, Case

    broken = [k for k in KINDS if k != "healthy"]
    faulty = max(1, round(servers * faulty_percent / 100)) if faulty_percent > 0 else 0
    step = servers / faulty if faulty else 0
    faulty_at = {int(i * step) for i in range(faulty)}
    names = list(FAULTS)
    cases = []
    for index in range(servers):
        kind = broken[index % len(broken)]
        if index in faulty_at:
            fault_name = names[len([i for i in faulty_at if i < index]) % len(names)]
            fault = FAULTS[fault_name]
            host_vars = dict(SHORT_TIMEOUTS) if fault_name == "stalled" else None
            if fault is None:
                host_vars = {"ansible_port": _dead_port()}
            cases.append(Case(kind, fault, fault_name, host_vars))
        else:
            cases.append(Case(kind, None, ""))
    return cases


def _play(backups: Path) -> list[dict[str, Any]]:
    from tests.support.lab_plays import compliance_play

    play = compliance_play(backups)
    play[0]["tasks"][0]["name"] = TASK
    return play


def _report(folder: Path) -> dict[str, dict[str, Any]]:
    path = folder / "report.json"
    document = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"servers": []}
    return {server["name"]: server for server in document["servers"]}


def _run(lab_dir: Path, inventory: Path, workdir: Path, forks: int) -> tuple[Any, dict[str, dict[str, Any]]]:
    report_dir = workdir / "report"
    run = run_ansible(
        _play(workdir.parent / "backups"),
        inventory,
        workdir,
        forks=forks,
        callbacks=("bench_timing", REPORT_CALLBACK),
        env={"CERTWARDEN_REPORT_DIR": str(report_dir)},
    )
    return run, _report(report_dir)


def _clear_faults(case_lab: Any, hosts: dict[str, Any], inventory: Path) -> None:
    """Delete every faults.json and give every host its real port back (the inventory as the lab wrote it)."""
    for name in hosts:
        (case_lab.host_dir(name) / "faults.json").unlink(missing_ok=True)
    document = yaml.safe_load(inventory.read_text(encoding="utf-8"))
    for name, host_vars in document["all"]["children"]["exchange"]["hosts"].items():
        host_vars["ansible_port"] = case_lab.lab.port(name)
    inventory.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def measure(workdir: Path, servers: int, forks: int, faulty_percent: float) -> dict[str, Any]:
    from tests.reliability.case_lab import start_case_lab

    began = time.perf_counter()
    case_lab = start_case_lab(workdir / "lab", servers)
    try:
        inventory = workdir / "hosts.yml"
        hosts = case_lab.write_cases(plan_cases(servers, faulty_percent), inventory)
        lab_start = time.perf_counter() - began
        faulty = {name for name, case in hosts.items() if case.label}
        first, first_report = _run(case_lab.dir, inventory, workdir / "faulty", forks)
        _clear_faults(case_lab, hosts, inventory)
        rerun, rerun_report = _run(case_lab.dir, inventory, workdir / "rerun", forks)
    finally:
        case_lab.lab.stop()

    healthy = [name for name in hosts if name not in faulty]
    statuses = {name: first_report.get(name, {}).get("status", "missing") for name in hosts}
    by_fault: dict[str, dict[str, int]] = {}
    for name in faulty:
        row = by_fault.setdefault(hosts[name].label, {})
        row[statuses[name]] = row.get(statuses[name], 0) + 1
    result = {
        "servers": servers,
        "forks": forks,
        "faulty": len(faulty),
        "lab_start_seconds": lab_start,
        "first_run": {
            "wall_seconds": first.wall_seconds,
            "controller_cpu_seconds": first.cpu_seconds,
            "rc": first.rc,
            "healthy_compliant": sum(statuses[n] == "compliant" for n in healthy),
            "healthy": len(healthy),
            "faulty_reported": sum(statuses[n] in ("unreachable", "failed") for n in faulty),
            "faulty_by_status": by_fault,
        },
        "rerun": {
            "wall_seconds": rerun.wall_seconds,
            "controller_cpu_seconds": rerun.cpu_seconds,
            "rc": rerun.rc,
            "compliant": sum(rerun_report.get(n, {}).get("status") == "compliant" for n in hosts),
        },
    }
    result["ok"] = (
        result["first_run"]["healthy_compliant"] == len(healthy)
        and result["first_run"]["faulty_reported"] == len(faulty)
        and result["rerun"]["compliant"] == servers
        and rerun.rc == 0
    )
    if not result["ok"]:
        result["not_right"] = {
            "healthy_not_compliant": sorted(n for n in healthy if statuses[n] != "compliant"),
            "faulty_not_reported": sorted(n for n in faulty if statuses[n] not in ("unreachable", "failed")),
            "rerun_not_compliant": sorted(n for n in hosts if rerun_report.get(n, {}).get("status") != "compliant"),
            "output": [str(first.output_path), str(rerun.output_path)],
        }
    return result


def _print(row: dict[str, Any]) -> None:
    first, rerun = row["first_run"], row["rerun"]
    print(
        f"{'servers':>7} {'forks':>5} {'faulty':>6} {'run 1 s':>7} {'healthy compliant':>17} "
        f"{'faulty reported':>15} {'rerun s':>7} {'rerun compliant':>15} {'ok':>3}"
    )
    print(
        f"{row['servers']:>7} {row['forks']:>5} {row['faulty']:>6} {first['wall_seconds']:>7.1f} "
        f"{first['healthy_compliant']:>8}/{first['healthy']:<8} {first['faulty_reported']:>7}/{row['faulty']:<7} "
        f"{rerun['wall_seconds']:>7.1f} {rerun['compliant']:>7}/{row['servers']:<7} {'yes' if row['ok'] else 'NO':>3}"
    )
    for fault, statuses in sorted(first["faulty_by_status"].items()):
        print(f"  {fault}: " + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_faulty_fleet", description=__doc__.split("\n", maxsplit=1)[0]
    )
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--faulty-percent", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=RESULTS / "faulty-fleet.json")
    args = parser.parse_args(argv)
    if args.servers < 1:
        parser.error("--servers must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-faulty-") as temp:
        row = measure(Path(temp), args.servers, args.forks, args.faulty_percent)
    _print(row)
    document = {"benchmark": "faulty-fleet", "machine": machine(), "runs": [row]}
    print(f"\nwritten: {write_result('faulty-fleet', document, args.json)}")
    return 0 if row["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
