"""Fixtures that start simulated lab hosts for a scenario in a tmp folder and stop them afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.lab import LabHandle, start_lab

LabFactory = Callable[..., LabHandle]


def _factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    started: list[LabHandle] = []

    def make(scenario: str, hosts: int = 3, https: bool = False) -> LabHandle:
        folder: Path = tmp_path_factory.mktemp(f"lab-{scenario}")
        lab = start_lab(folder / "lab", scenario, hosts=hosts, https=https)
        started.append(lab)
        return lab

    yield make
    for lab in started:
        lab.stop()


@pytest.fixture
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    """``lab_factory(scenario, hosts=3, https=False)`` -> a running LabHandle, stopped after the test."""
    yield from _factory(tmp_path_factory)


@pytest.fixture(scope="module")
def module_lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    """The same, shared by a module: for tests that only read, or that each use their own host."""
    yield from _factory(tmp_path_factory)


@pytest.fixture(scope="session")
def transport_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """One lab with every transport host and one KDC, shared by the session (per xdist worker)."""
    lab = start_lab(tmp_path_factory.mktemp("transports") / "lab", "healthy", transports=True)
    yield lab
    lab.stop()
