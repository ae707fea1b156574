"""Benchmarks (not timed tests): ``python -m bench`` runs every ``bench/bench_*.py``.

Every benchmark runs as ``python -m bench.<name>`` (or is imported by the runner and the
smoke tests), so this package is always imported first: it makes the collection importable
from the checkout, as pytest's ``pythonpath = collections .`` does.
"""

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
for _path in (str(_REPO / "collections"), str(_REPO)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
