"""What the probes' trust bundle costs a freshly forked process, as each of ansible's workers is.

A probing task trusts the system's CA bundle unless told another (the roles' default). Each
ansible worker is a fork of the main process, so what the main process parsed before the fork
is there for free. This measures, in forked children of one parent whose engine is warm (as
``warm_up`` leaves ansible's main process), the time of ``load_trust`` for the system bundle:

- **parsed in the child**: the parent has no parse of it, so the child reads and parses the
  file (some 140 roots, each root's self-signature checked), as every worker did before the
  main process parsed it once (``warm_up.warm_probes``);
- **reused from the parent**: the parent parsed it before forking; the child checks that the
  file is unchanged and reuses that parse.

Each figure is the median over ``--repeat`` children per case, the cases alternating.

    python -m bench.bench_trust_fork
    python -m bench.bench_trust_fork --repeat 3 --json /tmp/x.json   # smoke
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence import trust_bundle
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.warm_up import warm_up
from bench.bench_engine import RESULTS
from bench.bench_template_fork import measure
from bench.lab_runs import machine, ratio, write_result

QUICK_ARGV = ["--repeat", "2", "--json", str(RESULTS / "trust_fork-quick.json")]


def parse_in_child() -> None:
    trust_bundle._PARSED.clear()  # the child's copy only: as if the parent had never parsed the bundle
    trust_bundle.load_trust(None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--json", type=Path, default=None, help=f"default: {RESULTS}/trust_fork.json")
    args = parser.parse_args(argv)
    bundle = trust_bundle.system_bundle()
    if bundle is None:
        print("this machine has no system CA bundle: nothing to measure")
        return 0
    warm_up()
    trust_bundle.load_trust(None)  # the parent's parse, which the "reused" children inherit
    figures = measure(
        {"parsed in the child": parse_in_child, "reused from the parent": lambda: trust_bundle.load_trust(None)},
        args.repeat,
    )
    print(f"load_trust({bundle}) in a forked child, median of {args.repeat} children, ms")
    for name, value in figures.items():
        print(f"  {name:<24} {value:7.3f}")
    saved = ratio(figures["parsed in the child"], figures["reused from the parent"]) or 0.0
    print(f"  parsed / reused {saved:.0f}")
    written = write_result(
        "trust_fork", {"machine": machine(), "repeat": args.repeat, "bundle": bundle, "ms": figures}, args.json
    )
    print(f"written: {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
