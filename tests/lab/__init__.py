"""The simulated Windows + Exchange lab (see docs/lab.md).

Importable API for tests::

    from tests.lab import start_lab, state_digest
    lab = start_lab(tmp_path / "lab", "duplicate-no-key", hosts=3, https=False)
    ...
    lab.stop()
"""

from __future__ import annotations

from tests.lab.control import LabError, LabHandle, start_lab, state_digest, stop_lab
from tests.lab.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "LabError", "LabHandle", "start_lab", "state_digest", "stop_lab"]
