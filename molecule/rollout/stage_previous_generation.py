"""Turn a healthy lab into generation 1: every server uses the previous certificate.

Usage: python stage_previous_generation.py LAB_DIR (run from the repository root).

The lab's healthy servers already run generation 2 (pki 'renewed'). This swaps
it, on every host, for generation 1 (pki 'leaf': same issuer and subject, with
its key), enabled for IIS and SMTP and bound in IIS, so that the rollout has a
plain renewal to do (tests.lab.generations, which tests/fleet/test_rollout.py uses too).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.lab.generations import stage_previous_generation


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not (Path(argv[0]) / "scenario.json").is_file():
        print("usage: stage_previous_generation.py LAB_DIR (a lab folder with scenario.json)", file=sys.stderr)
        return 2
    hosts = stage_previous_generation(Path(argv[0]))
    print(f"generation 1 (pki 'leaf') staged on {', '.join(hosts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
