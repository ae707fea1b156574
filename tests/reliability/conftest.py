"""One case lab per test module: a running lab server whose hosts the tests turn into cases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.case_lab import CaseLab, start_case_lab

CASE_LAB_HOSTS = 40


@pytest.fixture(scope="module")
def case_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaseLab]:
    lab = start_case_lab(tmp_path_factory.mktemp("case-lab") / "lab", CASE_LAB_HOSTS)
    yield lab
    lab.lab.stop()
