"""Run every benchmark: ``python -m bench`` (full sizes) or ``python -m bench --quick`` (smoke sizes).

Every ``bench/bench_*.py`` that defines ``main(argv)`` is run in turn, in name order. For
``--quick`` a module gives its own smoke arguments as ``QUICK_ARGV`` (a list of strings); a module
without one gets ``--quick``. Any other arguments are passed to every module unchanged.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# Smoke arguments for benchmarks that predate QUICK_ARGV (their files are owned elsewhere).
_KNOWN_QUICK_ARGV = {"bench_protocol_log": ["--size-mb", "1", "--no-json"]}


def _modules() -> list[str]:
    return sorted(path.stem for path in BENCH.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
    if quick:
        args.remove("--quick")
    failed = []
    for name in _modules():
        module = importlib.import_module(f"bench.{name}")
        entry = getattr(module, "main", None)
        if not callable(entry):
            continue
        if quick:
            extra = getattr(module, "QUICK_ARGV", None) or _KNOWN_QUICK_ARGV.get(name) or ["--quick"]
            module_args = [*extra, *args]
        else:
            module_args = args
        print(f"== {name} {' '.join(module_args)}".rstrip(), flush=True)
        began = time.perf_counter()
        status = entry(module_args)
        print(f"== {name}: exit {status or 0} in {time.perf_counter() - began:.1f} s", flush=True)
        if status:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
