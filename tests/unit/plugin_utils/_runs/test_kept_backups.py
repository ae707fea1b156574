"""The controller's backup files: atomic writes, and one manifest per host that concurrent runs share."""

from __future__ import annotations

import multiprocessing
import os
import resource
import subprocess
import sys
from pathlib import Path

from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.kept_backups import (
    read_manifest,
    replacing,
    update_manifest,
)

WRITERS = 6
ENTRIES_EACH = 25


def _write_entries(folder: str, writer: int) -> None:
    for index in range(ENTRIES_EACH):
        entry = {"thumbprint": f"{writer:02d}{index:038d}", "store": "My", "kind": "der", "sha256": "00"}
        update_manifest(Path(folder), replacing([entry]), "backup.local_directory")


def test_runs_sharing_a_local_directory_keep_every_entry(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write_entries, args=(str(tmp_path), n)) for n in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join()
    assert all(process.exitcode == 0 for process in writers)
    entries = read_manifest(tmp_path / "manifest.json", "backup.local_directory")
    assert len({e["thumbprint"] for e in entries}) == WRITERS * ENTRIES_EACH


_WRITE_UNDER_A_SIZE_LIMIT = """
import resource, sys
from pathlib import Path
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.private_file import write_private_file
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    write_private_file(Path(sys.argv[1]), b"x" * 10000)
except OSError as error:
    print(error.errno, error.filename)
"""


def test_a_write_that_fails_leaves_the_previous_file_whole_and_nothing_beside_it(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text('[{"thumbprint": "AB", "store": "My"}]', encoding="utf-8")
    # A file size limit (the cause of "[Errno 27] File too large") cuts the write at 4 KiB.
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    assert hard == resource.RLIM_INFINITY or hard > 4096
    done = subprocess.run(
        [sys.executable, "-c", _WRITE_UNDER_A_SIZE_LIMIT, str(manifest)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.stdout.split() == ["27", str(manifest)]  # EFBIG, naming the manifest, not a temporary file
    assert manifest.read_text(encoding="utf-8") == '[{"thumbprint": "AB", "store": "My"}]'
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]
