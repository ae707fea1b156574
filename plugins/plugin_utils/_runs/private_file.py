"""One private file on the controller, written whole or not at all (backups, manifests, saved reads, bundles)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path


def write_private_file(path: Path, content: bytes) -> str:
    """Write ``content`` readable by the owner only (backups may hold keys); return its SHA-256.

    Atomic: the bytes go to a temporary file in the same folder, which is renamed over ``path``
    once complete, so a failed write (disk full, file size limit) leaves the previous file whole
    and no half-written file behind.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):  # name the file the user knows, not the temporary one
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise
    return hashlib.sha256(content).hexdigest()
