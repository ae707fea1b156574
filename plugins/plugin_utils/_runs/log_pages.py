"""Protocol logs read in pages, so that no single WinRM command holds more than a page in the shell's memory.

The agent keeps the file bytes, their base64 and the JSON in memory as .NET
strings; WinRM ends a shell that exceeds ``MaxMemoryPerShellMB`` (1024 MB by
default), so one call carries at most :data:`PAGE_BYTES` of files. Each next
call asks for the files modified before the oldest file the previous one
returned, until the caller's whole budget is spent or no file was left out.
Files modified within the same second as that oldest file are not asked for
again (``modified_utc`` has whole seconds).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import run_agent

PAGE_BYTES = 8_000_000
MAX_PAGES = 32


def read_log_pages(
    connection: Any, host: str, paths: list[str] | None, since: str | None, max_bytes: int
) -> dict[str, Any]:
    """``read_logs``' result over as many calls as ``max_bytes`` needs: files oldest first, as one call returns."""
    pages: list[list[dict[str, Any]]] = []
    remaining, before = max_bytes, None
    result: dict[str, Any] = {"files": [], "dropped_files": 0, "missing_paths": []}
    for _page in range(MAX_PAGES):
        options = {"paths": paths, "since": since, "max_bytes": min(PAGE_BYTES, remaining), "before": before}
        result = run_agent(connection, host, "read_logs", options)
        files = list(result.get("files") or [])
        pages.append(files)
        remaining -= sum(len(f.get("content_b64") or "") * 3 // 4 for f in files)
        if not files or not result.get("dropped_files") or remaining <= 0:
            break
        before = min(f["modified_utc"] for f in files)
    files = [f for page in reversed(pages) for f in page]
    return {**result, "files": files, "pages": len(pages)}
