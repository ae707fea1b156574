"""A real server's fixed costs, which the lab can impose so that benchmarks show them (docs/lab.md).

Every WinRM command on a Windows server starts ``powershell.exe``, and every
agent invocation that needs Exchange loads the Exchange cmdlets (a remote
session to the server's own ``/PowerShell`` endpoint, or the snap-in on Edge).
Both take time the controller can only wait for. The lab pays them as sleeps,
never as CPU, so they show in wall time and not in anyone's CPU figures.
``host.json`` holds them as ``costs`` (absent: zero, which is what every test uses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerCosts:
    command_start_seconds: float = 0.0  # each command that starts powershell.exe
    exchange_load_seconds: float = 0.0  # each agent invocation that loads the Exchange cmdlets (once)

    @classmethod
    def from_host_info(cls, info: dict[str, Any]) -> ServerCosts:
        raw = info.get("costs") or {}
        return cls(
            command_start_seconds=float(raw.get("command_start_seconds") or 0.0),
            exchange_load_seconds=float(raw.get("exchange_load_seconds") or 0.0),
        )

    def to_host_info(self) -> dict[str, float]:
        return {
            "command_start_seconds": self.command_start_seconds,
            "exchange_load_seconds": self.exchange_load_seconds,
        }
