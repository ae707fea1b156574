from __future__ import annotations

import pytest

from tests.support.pki import TestPki


@pytest.fixture(scope="session")
def pki() -> TestPki:
    return TestPki()
