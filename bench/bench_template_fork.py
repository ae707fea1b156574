"""What a template costs in a freshly forked process, as in each of ansible's workers.

ansible-core compiles every template of a task anew in the task's worker (it keeps no
compiled templates across forks). This measures, in forked children of one parent, the time
to render one template with a new ``Templar`` (as a worker's task does), in two cases:

- **filters**: a template that uses filters (``default``, ``map``, ``combine``...) when the
  parent has never used them (``cold``) and when it has (``warm``, what
  ``_runs/warm_up.warm_templating`` does in ansible's main process before workers fork). The
  first use of a filter in a process loads its plugin.
- **interface**: the role's arguments as twelve one-variable templates against one template
  of a dictionary holding the same twelve values (issue 18's role interface question).

Each figure is the median over ``--repeat`` children per case, the cases alternating.

    python -m bench.bench_template_fork
    python -m bench.bench_template_fork --repeat 3 --json /tmp/x.json   # smoke
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from bench.bench_engine import RESULTS
from bench.lab_runs import machine, ratio, write_result

VARIABLES: dict[str, Any] = {
    "inventory_hostname": "ex01",
    "ansible_host": "192.0.2.10",
    "certwarden_probe_tls": "starttls",
    "certwarden_probe_port": 25,
    "certwarden_probe_smtp": True,
    **{f"certwarden_option_{i}": [f"value {i}"] for i in range(12)},
    "certwarden_options": {f"option_{i}": [f"value {i}"] for i in range(12)},
}
FILTER_TEMPLATES = {
    "default": "{{ ansible_host | default(inventory_hostname) }}",
    "probes": "{{ ([{'tls': certwarden_probe_tls, 'port': certwarden_probe_port}] if certwarden_probe_smtp | bool"
    " else []) | map('combine', {'host': ansible_host | default(inventory_hostname)}) | list }}",
}
QUICK_ARGV = ["--repeat", "2", "--json", str(RESULTS / "template_fork-quick.json")]
# What the parent renders before forking in the "warm" case: the same filters, other templates.
WARMING = (
    "{{ ([{'a': 1}] if certwarden_probe_smtp | bool else [])"
    " | map('combine', {'b': ansible_host | default(1)}) | list }}"
)


def render(arguments: dict[str, str]) -> Any:
    return Templar(loader=DataLoader(), variables=VARIABLES).template(
        {name: trust_as_template(text) for name, text in arguments.items()}
    )


def in_child(work: Callable[[], Any]) -> float:
    """Milliseconds ``work`` takes in a forked child of this process."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: time the work, report it, leave without running the parent's cleanup
        began = time.perf_counter()
        work()
        os.write(write_end, repr(time.perf_counter() - began).encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as answer:
        return float(answer.read()) * 1000


def measure(cases: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _round in range(repeat):
        for name, work in cases.items():
            times[name].append(in_child(work))
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--json", type=Path, default=None, help=f"default: {RESULTS}/template_fork.json")
    args = parser.parse_args(argv)

    render({"plain": "{{ inventory_hostname }}"})  # the lexer and compiler set up, as ansible's main process has them
    filters = {name: functools.partial(render, {name: text}) for name, text in FILTER_TEMPLATES.items()}
    cold = measure(filters, args.repeat)
    render({"warming": WARMING})
    warm = measure(filters, args.repeat)
    twelve = {f"option_{i}": f"{{{{ certwarden_option_{i} }}}}" for i in range(12)}
    one = {"all": "{{ certwarden_options }}"}
    interface = measure(
        {"twelve templates": functools.partial(render, twelve), "one dictionary": functools.partial(render, one)},
        args.repeat,
    )

    print(f"template in a forked child, median of {args.repeat} children, ms")
    for name in FILTER_TEMPLATES:
        factor = ratio(cold[name], warm[name]) or 0.0
        print(f"  filters {name:<8} cold {cold[name]:6.2f}  warm {warm[name]:6.2f}  (cold / warm {factor:.2f})")
    for name, value in interface.items():
        print(f"  interface {name:<17} {value:6.2f}")
    written = write_result(
        "template_fork",
        {"machine": machine(), "repeat": args.repeat, "cold": cold, "warm": warm, "interface": interface},
        args.json,
    )
    print(f"written: {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
