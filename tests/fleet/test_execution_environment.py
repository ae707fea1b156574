"""execution-environment.yml builds: ansible-builder's context installs the collection and its requirements.

``ansible-builder build`` needs a container engine and the base image from quay.io; this machine reaches only
package registries, so the test runs the build's own steps outside a container instead, in the order the
generated Containerfile runs them: the galaxy stage's ``ansible-galaxy collection install -r requirements.yml``
in the context's _build folder, the builder stage's ``introspect.py introspect --write-pip --write-bindep`` on
the installed collections, and the assemble step's ``pip install -r requirements.txt`` (into a fresh venv here).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement.strip(), maxsplit=1)[0].lower()


def _requirements(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {_name(line) for line in lines if line.strip() and not line.lstrip().startswith("#")}


def _run(argv: list[str], cwd: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PIP_"))}
    done = subprocess.run(argv, cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


def test_the_collection_declares_its_requirements_for_introspection() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(d) for d in project["dependencies"]} - {"ansible-core"}  # the EE installs ansible-core itself
    assert wanted <= _requirements(REPO / "requirements.txt")
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text(encoding="utf-8"))
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    definition = yaml.safe_load((REPO / "execution-environment.yml").read_text(encoding="utf-8"))
    version = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))["version"]
    [collection] = definition["dependencies"]["galaxy"]["collections"]
    assert collection["name"] == f"collection/certwarden-exchange-{version}.tar.gz"
    assert definition["additional_build_files"][0]["src"] == f"build/certwarden-exchange-{version}.tar.gz"


def test_the_build_context_installs_the_collection_and_its_requirements(tmp_path: Path) -> None:
    # The definition and the tarball `make build` writes, as ansible-builder sees them next to each other.
    shutil.copy(REPO / "execution-environment.yml", tmp_path / "execution-environment.yml")
    _run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path / "build"), str(REPO)], REPO
    )
    context = tmp_path / "context"
    _run(
        [
            str(BIN / "ansible-builder"),
            "create",
            "--file",
            "execution-environment.yml",
            "--context",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        tmp_path,
    )
    build = context / "_build"
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "introspect.py introspect --write-bindep=/tmp/src/bindep.txt --write-pip=/tmp/src/requirements.txt" in (
        containerfile
    )

    # Galaxy stage (WORKDIR /build holds _build).
    collections = tmp_path / "usr-share-ansible" / "collections"
    _run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "-r", "requirements.yml",
         "--collections-path", str(collections)],
        build,
        ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1",
        ANSIBLE_HOME=str(tmp_path / "home"),
    )  # fmt: skip
    assert (
        collections / "ansible_collections" / "certwarden" / "exchange" / "meta" / "execution-environment.yml"
    ).is_file()

    # Builder stage: introspection finds the collection's own requirements.
    src = tmp_path / "src"
    _run(
        [sys.executable, str(build / "scripts" / "introspect.py"), "introspect", str(collections),
         f"--write-bindep={src / 'bindep.txt'}", f"--write-pip={src / 'requirements.txt'}"],
        build,
    )  # fmt: skip
    assert {"pywinrm", "cryptography", "pyopenssl"} <= _requirements(src / "requirements.txt")
    assert "krb5" in (src / "bindep.txt").read_text(encoding="utf-8")

    # Assemble: the combined requirements install, and the collection's imports work with them.
    venv = tmp_path / "ee-python"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(src / "requirements.txt")], tmp_path
    )
    _run([str(venv / "bin" / "python"), "-c", "import winrm, cryptography.x509.verification, OpenSSL.SSL"], tmp_path)
