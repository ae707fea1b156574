"""Hypothesis profiles for the whole suite.

``dev`` (the default) draws fresh random examples on every run, so development keeps exploring;
``ci`` (selected when the ``CI`` environment variable is set) is derandomised, so a CI run is
reproducible and a red build is not a coin toss. ``HYPOTHESIS_PROFILE`` overrides either, and
``HYPOTHESIS_MAX_EXAMPLES`` raises the example count for a long local hunt:

    HYPOTHESIS_MAX_EXAMPLES=2000 .venv/bin/pytest -q tests/unit/plugin_utils/_engine/plan/test_planner_properties.py
"""

from __future__ import annotations

import os

from hypothesis import settings

_MAX_EXAMPLES = int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "60"))

settings.register_profile("dev", max_examples=_MAX_EXAMPLES, deadline=None)
settings.register_profile("ci", max_examples=_MAX_EXAMPLES, deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
