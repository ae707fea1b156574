"""What the lab benchmarks share: the machine, a lab, an ansible-playbook run measured from outside.

Not a benchmark itself (the runner only imports ``bench_*.py``). The lab always
runs in its own process (``tests.lab.start_lab``), apart from ansible.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
CALLBACKS = REPO / "bench" / "callback_plugins"
ACTIONS = REPO / "bench" / "action_plugins"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
SAMPLE_SECONDS = 0.1
# A real server's fixed costs, which the lab pays as sleeps (tests/lab/costs.py): assumptions from public
# reports, not measurements of ours; docs/lab.md "Server costs" gives the sources.
REAL_SERVER_COSTS = {"command_start_seconds": 0.5, "exchange_load_seconds": 8.0}


def machine() -> dict[str, Any]:
    """Enough about this machine to read a figure: cores, memory, CPU model, versions, load."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import ansible
    import cryptography

    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
        "ansible_core": ansible.__version__,
        "cryptography": cryptography.__version__,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or None when the measured denominator is zero (a tiny run's CPU ticks).

    A smoke-sized run can measure 0 s of CPU or 0 ms per server; a benchmark reports that as
    "no figure", never as a ZeroDivisionError.
    """
    return None if denominator == 0 else numerator / denominator


def figure(value: float | None, spec: str) -> str:
    """``value`` formatted with ``spec``, or ``n/a`` for a ratio that had nothing to divide by."""
    return "n/a" if value is None else format(value, spec)


def lab_cpu_seconds(pid: int) -> float:
    """User + system CPU the lab process has used so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def write_result(name: str, document: dict[str, Any], path: Path | None = None) -> Path:
    target = path or RESULTS / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def command_counts(lab_dir: Path, hosts: list[str], action: str = "command") -> dict[str, list[str]]:
    """The kinds of every WinRM command each host has run so far, from the lab's request log.

    ``action="exchange_load"``: the kinds of the commands that loaded the Exchange cmdlets, one per load.
    """
    counts: dict[str, list[str]] = {}
    for host in hosts:
        log = lab_dir / "hosts" / host / "requests.log"
        entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        counts[host] = [e["kind"] for e in entries if e["action"] == action]
    return counts


@dataclass
class TreeSampler:
    """Samples the summed RSS and PSS of a process and all its descendants until stopped (psutil).

    Forked workers share most of their pages with the process they were forked from, and RSS
    counts a shared page in every process that maps it; PSS (proportional set size, from
    /proc/<pid>/smaps_rollup) splits it between them, so the PSS sum is what the tree really
    holds. ``peak_main_rss`` is the root process alone (it holds every result).
    """

    pid: int
    peak_rss: int = 0
    peak_pss: int = 0
    peak_main_rss: int = 0
    peak_processes: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = pss = 0
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for process in tree:
                try:
                    memory = process.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                total += memory.rss
                pss += memory.pss
                if process is root:
                    self.peak_main_rss = max(self.peak_main_rss, memory.rss)
            self.peak_rss = max(self.peak_rss, total)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_processes = max(self.peak_processes, len(tree))
            self.samples += 1
            self._stop.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@dataclass
class AnsibleRun:
    rc: int
    wall_seconds: float
    cpu_seconds: float  # user + system of ansible-playbook and every descendant it reaped
    peak_rss_bytes: int
    peak_pss_bytes: int
    peak_main_rss_bytes: int
    peak_processes: int
    timings: list[dict[str, Any]]
    output_path: Path

    def durations(self, task: str, status: str | None = None) -> list[float]:
        return [t["seconds"] for t in self.timings if t["task"] == task and (status is None or t["status"] == status)]


def run_ansible(
    plays: list[dict[str, Any]] | Path,
    inventory: Path,
    workdir: Path,
    *,
    forks: int,
    check: bool = False,
    callbacks: tuple[str, ...] = ("bench_timing",),
    env: dict[str, str] | None = None,
    extra_vars: dict[str, Any] | None = None,
    timeout: float = 3600,
) -> AnsibleRun:
    """Run ``plays`` (plays as data, or a playbook file) with ansible-playbook in its own process tree.

    Measured from outside: wall time, the CPU of the whole tree (``wait4``), peak RSS and PSS.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if isinstance(plays, Path):
        playbook = plays
    else:
        playbook = workdir / "playbook.yml"
        playbook.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
    timing = workdir / "timing.jsonl"
    timing.unlink(missing_ok=True)
    output = workdir / "ansible.out"
    argv = [ANSIBLE_PLAYBOOK, "-i", str(inventory), str(playbook), "--forks", str(forks)]
    if check:
        argv.append("--check")
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    run_env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
        "ANSIBLE_ACTION_PLUGINS": str(ACTIONS),
        "ANSIBLE_CALLBACKS_ENABLED": ",".join(callbacks),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-tmp"),
        "CERTWARDEN_BENCH_TIMING": str(timing),
        **(env or {}),
    }
    with output.open("wb") as out:
        began = time.perf_counter()
        process = subprocess.Popen(argv, cwd=REPO, env=run_env, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(process.pid).start()
        deadline = began + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - began
        sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    timings = [json.loads(line) for line in timing.read_text().splitlines()] if timing.exists() else []
    return AnsibleRun(
        rc=process.returncode,
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_bytes=sampler.peak_rss,
        peak_pss_bytes=sampler.peak_pss,
        peak_main_rss_bytes=sampler.peak_main_rss,
        peak_processes=sampler.peak_processes,
        timings=timings,
        output_path=output,
    )


def compliance_args(*, pfx: bool = False) -> dict[str, Any]:
    """cert_compliance's arguments for a lab host, as the nightly compliance role gives them."""
    args: dict[str, Any] = {
        "certificate": {"thumbprint": "{{ certwarden_intended_thumbprint }}"},
        "chain": "{{ certwarden_chain_bundle }}",
        "services": "{{ certwarden_services }}",
        "send_connectors": "{{ certwarden_send_connectors }}",
        "receive_connectors": ["Default Frontend {{ certwarden_computer_name }}"],
        "hybrid_configuration": True,
    }
    if pfx:
        args["certificate"] = {
            "thumbprint": "{{ certwarden_intended_thumbprint }}",
            "pfx": "{{ certwarden_pfx_path }}",
            "password": "{{ certwarden_pfx_password }}",
        }
    return args
