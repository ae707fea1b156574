# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's files: which renderer writes which file, and writing them into a folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.as_html import render_html
from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.as_json import render_json
from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.as_junit import render_junit

RENDERERS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "json": ("report.json", render_json),
    "junit": ("junit.xml", render_junit),
    "html": ("report.html", render_html),
}


def write_report(document: dict[str, Any], folder: Path, formats: Sequence[str]) -> list[Path]:
    """Write each of ``formats`` (keys of RENDERERS) into ``folder`` (created); OSError on failure."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        filename, render = RENDERERS[fmt]
        path = folder / filename
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written
