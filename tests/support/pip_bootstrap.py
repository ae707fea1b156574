"""Stand-in for the pip bootstrap script ansible-test downloads from its CI host.

ansible-test builds a virtual environment per sanity test and bootstraps pip
in it with a ``get-pip`` script fetched from a host this machine cannot reach.
This script does the same job from the standard library's ``ensurepip`` and
the package registry: it is installed into ansible-test's cache by
``tests/support/sanity.sh`` and run by ansible-test as ``__main__`` with pip's
install arguments.
"""

from __future__ import annotations

import subprocess
import sys

# get-pip's own switches; pip install does not know them.
_GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main() -> None:
    args = [a for a in sys.argv[1:] if a not in _GET_PIP_ONLY]
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)


if __name__ == "__main__":
    main()
