"""Virtual environments with an older ansible-core, for the release matrix (``make compat``).

``.venv-compat/<version>/`` holds ansible-core ``<version>.*`` and the collection's controller requirements
(requirements.txt at the repository root). Built once and reused while the stamp matches the requirements;
``python -m tests.support.compat_venv 2.17 2.18`` builds them, and the matrix test calls :func:`ensure` itself so
that a fresh machine needs nothing else.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPAT = REPO / ".venv-compat"
VERSIONS = ("2.17", "2.18")


def _wanted(version: str) -> str:
    requirements = (REPO / "requirements.txt").read_text(encoding="utf-8")
    return hashlib.sha256(f"ansible-core=={version}.*\n{requirements}".encode()).hexdigest()


def ensure(version: str) -> Path:
    """The ``bin`` folder of the venv for ``version``, built (or rebuilt) when missing or stale."""
    folder = COMPAT / version
    stamp = folder / ".installed"
    wanted = _wanted(version)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        return folder / "bin"
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"ansible-core=={version}.*", "-r", str(REPO / "requirements.txt")], check=True)
    stamp.write_text(wanted, encoding="utf-8")
    return folder / "bin"


if __name__ == "__main__":
    for name in sys.argv[1:] or VERSIONS:
        print(f"{name}: {ensure(name)}")
