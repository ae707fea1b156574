"""A smoke-sized benchmark can measure zero (CPU ticks, ms per server): its figures say so, never divide by it."""

from __future__ import annotations

from bench import bench_fleet
from bench.lab_runs import figure, ratio


def test_growth_of_a_figure_measured_as_zero_is_no_figure() -> None:
    # Two lab servers can cost the lab 0 CPU ticks: the per-server figure of the smallest run is 0.
    first = {"wall_ms": 900.0, "controller_cpu_ms": 400.0, "lab_cpu_ms": 0.0}
    last = {"wall_ms": 600.0, "controller_cpu_ms": 200.0, "lab_cpu_ms": 5.0}
    assert bench_fleet.growth(first, last) == {"wall_ms": 600 / 900, "controller_cpu_ms": 0.5, "lab_cpu_ms": None}


def test_ratio_and_its_printed_figure() -> None:
    assert ratio(3.0, 0.0) is None and ratio(0.0, 2.0) == 0.0
    assert figure(None, ".2f") == "n/a" and figure(1.234, ".2f") == "1.23"
