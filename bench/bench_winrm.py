"""WinRM cost per server, through the real ansible-playbook against the lab.

Commands and Exchange loads per server, counted from the lab's request log, for
each way of checking and fixing: cert_compliance in check mode, cert_facts,
cert_compliance applying (a read, then one apply that reads again, whatever the
number of steps); against the naive playbook an Ansible user writes today (one
``raw`` PowerShell task each for My, CA, Root, the Exchange certificates and the
connectors, then one per change).

The controller's cost per task: the time per server of a check-mode
cert_compliance task divided by the time of an ``ansible.builtin.raw`` task doing
nothing, on the same hosts in the same run (tasks alternate, so drift on a shared
machine hits both), per host and over the whole task, and the CPU per server-task
of each; with ``--phases``, where each kind of task spends its time in its worker.

    python -m bench.bench_winrm                       # --hosts 20 --repeat 5 --forks 2,20
    python -m bench.bench_winrm --skip-counts --phases   # and where each task's time goes
    python -m bench.bench_winrm --skip-counts --floor    # and the agent's read alone: the check's floor
    python -m bench.bench_winrm --hosts 3 --repeat 1 --forks 2 --json /tmp/x.json   # smoke
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.interfaces import DICT_TASK, dict_task, write_dict_variables
from bench.lab_runs import (
    RESULTS,
    command_counts,
    compliance_args,
    figure,
    lab_cpu_seconds,
    machine,
    median,
    ratio,
    run_ansible,
    write_result,
)

QUICK_ARGV = ["--hosts", "2", "--repeat", "1", "--forks", "2", "--json", str(RESULTS / "winrm-quick.json")]
COUNT_SCENARIO = "field"  # nine hosts, each broken in another way: plans of 0 to several steps
RAW_TASK = "raw no-op"
CHECK_TASK = "cert_compliance check"
# The same arguments, templated the same way, then only the agent's read (bench/action_plugins).
FLOOR_TASK = "agent read only"

# The naive playbook: what a user writes today with raw PowerShell, one task per thing to look at.
NAIVE_READS = {
    "naive: My store": "Get-ChildItem Cert:\\LocalMachine\\My | Format-List *",
    "naive: CA store": "Get-ChildItem Cert:\\LocalMachine\\CA | Format-List *",
    "naive: Root store": "Get-ChildItem Cert:\\LocalMachine\\Root | Format-List *",
    "naive: Exchange certificates": "Get-ExchangeCertificate | Format-List *",
    "naive: connectors": "Get-SendConnector | Format-List *; Get-ReceiveConnector | Format-List *",
}
# One PowerShell command per planned step, as a user would write it by hand.
NAIVE_STEP = {
    "install_chain_certificate": "Import-Certificate -CertStoreLocation Cert:\\LocalMachine\\{store} -FilePath x.cer",
    "import_pfx": "Import-PfxCertificate -CertStoreLocation Cert:\\LocalMachine\\My -FilePath x.pfx",
    "enable_services": "Enable-ExchangeCertificate -Thumbprint {thumbprint} -Services SMTP,IIS -Force",
    "set_send_connector": "Set-SendConnector -Identity x -TlsCertificateName x",
    "set_receive_connector": "Set-ReceiveConnector -Identity x -TlsCertificateName x",
    "set_hybrid_configuration": "Set-HybridConfiguration -TlsCertificateName x",
    "backup": "Export-PfxCertificate -Cert Cert:\\LocalMachine\\My\\{thumbprint} -FilePath x.pfx",
    "remove": "Remove-Item Cert:\\LocalMachine\\{store}\\{thumbprint}",
}


def _play(name: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": name, "hosts": "exchange", "gather_facts": False, "tasks": tasks}]


def _naive_tasks(with_steps: bool) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = [
        {"name": name, "ansible.builtin.raw": command, "ignore_errors": True} for name, command in NAIVE_READS.items()
    ]
    if with_steps:
        tasks.append(
            {
                "name": "naive: one change",
                "ansible.builtin.raw": "{{ item }}",
                "loop": "{{ bench_naive_steps[inventory_hostname] }}",
                "ignore_errors": True,
            }
        )
    return tasks


def _naive_step(step: dict[str, Any]) -> str:
    template = NAIVE_STEP.get(step.get("action", ""), "Invoke-Something")
    return template.format(store=step.get("store", "My"), thumbprint=step.get("thumbprint", "x"))


def count_commands(workdir: Path) -> dict[str, Any]:
    """WinRM commands per server for each way of checking and fixing, from the request log."""
    from tests.lab import start_lab
    from tests.support.playbook import run_playbook

    lab = start_lab(workdir / "lab-count", COUNT_SCENARIO)
    try:
        marks = {(h, action): 0 for h in lab.hosts for action in ("command", "exchange_load")}

        def delta(action: str = "command") -> dict[str, int]:
            counts = command_counts(lab.dir, lab.hosts, action)
            taken = {h: len(counts[h]) - marks[h, action] for h in lab.hosts}
            marks.update({(h, action): len(counts[h]) for h in lab.hosts})
            return taken

        def both(way: str) -> None:
            per_way[way] = delta()
            per_way[f"{way}: Exchange loads"] = delta("exchange_load")

        def run(label: str, tasks: list[dict[str, Any]], **kwargs: Any) -> Any:
            result = run_playbook(_play(label, tasks), lab.inventory_path, workdir / f"count-{label}", **kwargs)
            if result.rc not in (0, 2):
                raise RuntimeError(f"{label}: ansible-playbook exit {result.rc}: {result.output[-2000:]}")
            return result

        # The check gets the same arguments as the apply below, so its plan is the one that is applied.
        apply_args = {
            **compliance_args(pfx=True),
            "backup": {"local_directory": str(workdir / "backups"), "password": "bench-Backup-1"},
        }
        per_way: dict[str, dict[str, int]] = {}
        check = run("check", [{"name": "check", "certwarden.exchange.cert_compliance": apply_args}], check=True)
        plans = {h: r.get("plan") or [] for h, r in check.results("check").items()}
        both("cert_compliance check")
        run("facts", [{"name": "facts", "certwarden.exchange.cert_facts": {}}])
        both("cert_facts")
        run("naive-check", _naive_tasks(False))
        per_way["naive check"] = delta()
        steps = {h: [_naive_step(s) for s in plan] for h, plan in plans.items()}
        run("naive-apply", _naive_tasks(True), extra_vars={"bench_naive_steps": steps})
        per_way["naive apply"] = delta()
        run("apply", [{"name": "apply", "certwarden.exchange.cert_compliance": apply_args}])
        both("cert_compliance apply")
    finally:
        lab.stop()
    hosts = [
        {"host": h, "planned_steps": len(plans.get(h, [])), **{way: per_way[way][h] for way in per_way}}
        for h in lab.hosts
    ]
    return {"scenario": COUNT_SCENARIO, "hosts": hosts}


def _ratio_tasks(repeat: int, interfaces: bool = False, floor: bool = False) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    for _unused in range(repeat):
        tasks.append({"name": RAW_TASK, "ansible.builtin.raw": "exit 0"})
        tasks.append({"name": CHECK_TASK, "certwarden.exchange.cert_compliance": compliance_args(), "check_mode": True})
        if interfaces:
            tasks.append(dict_task())
        if floor:
            tasks.append({"name": FLOOR_TASK, "bench_agent_read": compliance_args(), "check_mode": True})
    return tasks


def _ratio_of(run: Any, hosts: int, repeat: int, forks: int, kinds: tuple[str, ...]) -> dict[str, Any]:
    expected = hosts * repeat
    got = {kind: run.durations(kind, "ok") for kind in (RAW_TASK, *kinds)}
    if run.rc != 0 or any(len(values) != expected for values in got.values()):
        counts = ", ".join(f"{len(values)} {kind}" for kind, values in got.items())
        raise RuntimeError(
            f"the ratio run did not succeed everywhere (exit {run.rc}; {counts} results of {expected} each); "
            f"see {run.output_path}"
        )
    # Each host's records of each task, in order: the k-th of each kind ran back to back.
    by_host: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for record in run.timings:
        by_host.setdefault(record["host"], {}).setdefault(record["task"], []).append(record)
    raw_span = _spans([t[RAW_TASK] for t in by_host.values()])
    document: dict[str, Any] = {
        "hosts": hosts,
        "repeat": repeat,
        "forks": forks,
        "raw_median_s": median(got[RAW_TASK]),
        # The fleet's view: how long each task took over all the hosts (first start to last end),
        # per server. With more hosts than cores this is the CPU-bound throughput, not a latency.
        "raw_span_per_server_s": median(raw_span) / hosts,
        "wall_seconds": run.wall_seconds,
        "controller_cpu_seconds": run.cpu_seconds,
    }
    for kind in kinds:
        pair_ratios = [
            ratio(c["seconds"], r["seconds"])
            for t in by_host.values()
            for r, c in zip(t[RAW_TASK], t[kind], strict=True)
        ]
        measured = [value for value in pair_ratios if value is not None]
        span = _spans([t[kind] for t in by_host.values()])
        figures = {
            "median_s": median(got[kind]),
            "ratio_of_medians": ratio(median(got[kind]), median(got[RAW_TASK])),
            "median_pair_ratio": median(measured) if measured else None,
            "span_per_server_s": median(span) / hosts,
            "span_ratio": ratio(median(span), median(raw_span)),
        }
        if kind == CHECK_TASK:  # the historical keys of the main figure
            document.update(
                check_median_s=figures["median_s"],
                ratio_of_medians=figures["ratio_of_medians"],
                median_pair_ratio=figures["median_pair_ratio"],
                check_span_per_server_s=figures["span_per_server_s"],
                span_ratio=figures["span_ratio"],
            )
        else:
            document[kind] = figures
    return document


def _spans(per_host: list[list[dict[str, Any]]]) -> list[float]:
    """Seconds from the first host's start to the last host's end of each run of a task.

    ``per_host`` holds every host's records of the task in order, so the k-th of each is the k-th run.
    """
    return [max(r["ended"] for r in run) - min(r["started"] for r in run) for run in zip(*per_host, strict=True)]


def _phase_medians(path: Path) -> dict[str, dict[str, float]]:
    """Median milliseconds of each phase, for raw tasks and for check tasks (one worker pid = one task)."""
    per_pid: dict[int, dict[str, float]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        phases = per_pid.setdefault(record["pid"], {})
        phases[record["phase"]] = phases.get(record["phase"], 0.0) + record["ms"]
    kinds: dict[str, dict[str, list[float]]] = {RAW_TASK: {}, CHECK_TASK: {}}
    for phases in per_pid.values():
        if "WorkerProcess._run" not in phases:
            continue  # the main process (the warm-up's calls), not a worker
        kind = CHECK_TASK if "CertwardenAction.run" in phases else RAW_TASK
        for phase, ms in phases.items():
            kinds[kind].setdefault(phase, []).append(ms)
    return {kind: {phase: median(values) for phase, values in table.items()} for kind, table in kinds.items()}


def _cpu_per_task(lab: Any, workdir: Path, task: dict[str, Any], repeat: int, forks: int) -> dict[str, float]:
    """Controller and lab CPU per server for one task: a run of 1 + 2 x ``repeat`` copies minus a run of 1.

    The difference removes what every run pays once (starting ansible-playbook, parsing, the
    warm-up); controller CPU is ansible-playbook and every worker it reaped.
    """
    spent = {}
    extra = 2 * repeat
    for copies in (1, 1 + extra):
        before = lab_cpu_seconds(lab.process.pid)
        run = run_ansible(_play("cpu", [task] * copies), lab.inventory_path, workdir / f"cpu-{copies}", forks=forks)
        if run.rc != 0:
            raise RuntimeError(f"the CPU run failed (exit {run.rc}); see {run.output_path}")
        spent[copies] = (run.cpu_seconds, lab_cpu_seconds(lab.process.pid) - before)
    tasks = len(lab.hosts) * extra
    controller = (spent[1 + extra][0] - spent[1][0]) / tasks * 1000
    lab_ms = (spent[1 + extra][1] - spent[1][1]) / tasks * 1000
    return {"controller_ms": controller, "lab_ms": lab_ms, "total_ms": controller + lab_ms}


def measure_ratio(
    workdir: Path,
    hosts: int,
    repeat: int,
    forks_list: list[int],
    phases: bool,
    *,
    interfaces: bool = False,
    floor: bool = False,
) -> dict[str, Any]:
    """Per-server time of a check-mode cert_compliance task over a raw no-op, same hosts, same run.

    One run per forks value, on one lab, then the CPU per server-task at each forks value;
    with ``phases``, one more run (forks 1) with the bench_phases callback, which says where
    each kind of task spends its time in its worker; with ``interfaces``, every run also
    alternates the check with its arguments in one dictionary variable; with ``floor``, with
    the agent's read alone under the same arguments (``bench_agent_read``).
    """
    from tests.lab import start_lab

    tasks = _ratio_tasks(repeat, interfaces, floor)
    kinds = (CHECK_TASK, *((DICT_TASK,) if interfaces else ()), *((FLOOR_TASK,) if floor else ()))
    lab = start_lab(workdir / "lab-ratio", "fleet", hosts=hosts)
    ratios = []
    phase_table = None
    cpu: list[dict[str, Any]] = []
    try:
        if interfaces:
            write_dict_variables(lab)
        for forks in forks_list:
            run = run_ansible(_play("ratio", tasks), lab.inventory_path, workdir / f"ratio-{forks}", forks=forks)
            ratios.append(_ratio_of(run, hosts, repeat, forks, kinds))
        if phases:
            phase_log = workdir / "phases.jsonl"
            run_ansible(
                _play("ratio", tasks[:2]),
                lab.inventory_path,
                workdir / "ratio-phases",
                forks=1,
                callbacks=("bench_timing", "bench_phases"),
                env={"CERTWARDEN_BENCH_PHASES": str(phase_log)},
            )
            phase_table = _phase_medians(phase_log)
        # CPU per server-task, which is what the ratio measures once the workers queue for the cores.
        for forks in forks_list:
            figures: dict[str, Any] = {"forks": forks}
            for task in tasks[: 1 + len(kinds)]:
                figures[task["name"]] = _cpu_per_task(lab, workdir / f"cpu-{forks}-{task['name']}", task, repeat, forks)
            figures["ratio"] = ratio(figures[CHECK_TASK]["total_ms"], figures[RAW_TASK]["total_ms"])
            cpu.append(figures)
    finally:
        lab.stop()
    return {"runs": ratios, "phases_ms_forks_1": phase_table, "cpu_per_task": cpu}


def _print(document: dict[str, Any]) -> None:
    counts = document.get("commands")
    if counts:
        ways = [k for k in counts["hosts"][0] if k not in ("host", "planned_steps")]
        print(f"WinRM commands per server ({counts['scenario']} lab)")
        print(f"{'host':<28} {'steps':>5} " + " ".join(f"{w:>22}" for w in ways))
        for row in counts["hosts"]:
            print(f"{row['host']:<28} {row['planned_steps']:>5} " + " ".join(f"{row[w]:>22}" for w in ways))
    ratio = document.get("ratio")
    for run in (ratio or {}).get("runs", []):
        print(
            f"\ncheck-mode cert_compliance / raw no-op, {run['hosts']} hosts x {run['repeat']}, "
            f"forks {run['forks']}: raw {run['raw_median_s'] * 1000:.0f} ms, "
            f"check {run['check_median_s'] * 1000:.0f} ms (medians); "
            f"median pair ratio {figure(run['median_pair_ratio'], '.2f')}, "
            f"ratio of medians {figure(run['ratio_of_medians'], '.2f')}; "
            f"whole task over all hosts: raw {run['raw_span_per_server_s'] * 1000:.0f} ms, "
            f"check {run['check_span_per_server_s'] * 1000:.0f} ms per server, ratio {figure(run['span_ratio'], '.2f')}"
        )
        for kind in (DICT_TASK, FLOOR_TASK):
            if kind not in run:
                continue
            other = run[kind]
            print(
                f"  {kind}: {other['median_s'] * 1000:.0f} ms (median); median pair ratio "
                f"{figure(other['median_pair_ratio'], '.2f')}; whole task per server "
                f"{other['span_per_server_s'] * 1000:.0f} ms, ratio {figure(other['span_ratio'], '.2f')}"
            )
    for cpu in (ratio or {}).get("cpu_per_task") or []:
        kinds = [kind for kind in (RAW_TASK, CHECK_TASK, DICT_TASK, FLOOR_TASK) if kind in cpu]
        print(
            f"\nCPU per server-task (forks {cpu['forks']}), controller + lab: "
            + "; ".join(f"{kind} {cpu[kind]['controller_ms']:.0f} + {cpu[kind]['lab_ms']:.1f} ms" for kind in kinds)
            + f"; check / raw {figure(cpu['ratio'], '.2f')}"
        )
    phase_table = (ratio or {}).get("phases_ms_forks_1")
    if phase_table:
        raw, check = phase_table[RAW_TASK], phase_table[CHECK_TASK]
        print(f"\nwhere a task's time goes in its worker (forks 1, median ms)\n{'phase':<40} {'raw':>8} {'check':>8}")
        for name in sorted(set(raw) | set(check), key=lambda phase: -check.get(phase, 0.0)):
            print(f"{name:<40} {_ms(raw.get(name)):>8} {_ms(check.get(name)):>8}")


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_winrm", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=20, help="lab hosts for the check/raw ratio")
    parser.add_argument("--repeat", type=int, default=5, help="raw/check pairs per host")
    parser.add_argument(
        "--forks",
        default="2,20",
        help="comma-separated ansible forks, one ratio run each (default 2,20: the cores, and ten workers per core)",
    )
    parser.add_argument("--phases", action="store_true", help="one more run (forks 1) timing each phase of a task")
    parser.add_argument(
        "--interfaces", action="store_true", help="also the check with its arguments in one dictionary variable"
    )
    parser.add_argument(
        "--floor", action="store_true", help="also the agent's read alone, under the check's templated arguments"
    )
    parser.add_argument("--skip-counts", action="store_true", help="only the ratio")
    parser.add_argument("--skip-ratio", action="store_true", help="only the command counts")
    parser.add_argument("--json", type=Path, default=RESULTS / "winrm.json")
    args = parser.parse_args(argv)
    document: dict[str, Any] = {"benchmark": "winrm", "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="bench-winrm-") as temp:
        workdir = Path(temp)
        if not args.skip_counts:
            document["commands"] = count_commands(workdir)
        if not args.skip_ratio:
            forks = [int(value) for value in str(args.forks).split(",") if value.strip()]
            document["ratio"] = measure_ratio(
                workdir, args.hosts, args.repeat, forks, args.phases, interfaces=args.interfaces, floor=args.floor
            )
    _print(document)
    print(f"\nwritten: {write_result('winrm', document, args.json)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
