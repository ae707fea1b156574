"""Headless Chromium (Debian's package) for tests and benchmarks that look at the HTML report."""

from __future__ import annotations

import shutil
from pathlib import Path

# Without the background-networking flags Chromium keeps trying hosts this
# machine cannot reach; a fresh profile per run keeps runs independent.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def headless_argv(chromium: str, profile: Path) -> list[str]:
    """The command line that starts ``chromium`` headless with its own profile folder."""
    return [chromium, *_FLAGS, f"--user-data-dir={profile}"]
