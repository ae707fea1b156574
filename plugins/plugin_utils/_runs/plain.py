# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Task arguments as plain Python values, without ansible-core's tags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def plain_values(value: Any) -> Any:
    """``value`` rebuilt from plain dicts, lists, strings and numbers.

    ansible-core 2.19 hands action plugins tagged values (a str subclass that
    carries where the text came from and whether it may be templated). The
    validator deep-copies its input, and deep-copying those tags cost more
    than the validation itself (about 1.5 ms a task; docs/benchmarks.md).
    Anything else (a vaulted value, say) is passed on as it is.
    """
    if isinstance(value, Mapping):
        return {plain_values(k): plain_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_values(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value
