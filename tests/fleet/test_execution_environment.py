"""execution-environment.yml: ansible-builder produces a build context with the collection's dependencies."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement.strip(), maxsplit=1)[0].lower()


def test_ee_requirements_cover_the_collection_dependencies() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(d) for d in project["dependencies"]} - {"ansible-core"}  # the EE installs ansible-core itself
    listed = {
        _name(line)
        for line in (REPO / "meta" / "ee-requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert wanted <= listed, wanted - listed


def test_ansible_builder_creates_the_build_context(tmp_path: Path) -> None:
    builder = Path(sys.executable).with_name("ansible-builder")
    if not builder.exists() and shutil.which("ansible-builder") is None:
        pytest.skip("ansible-builder is not installed (pip install ansible-builder)")
    context = tmp_path / "context"
    subprocess.run(
        [
            str(builder),
            "create",
            "--file",
            "execution-environment.yml",
            "--context",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert "FROM" in containerfile
    build = context / "_build"
    assert "cryptography" in (build / "requirements.txt").read_text(encoding="utf-8")
    assert "krb5" in (build / "bindep.txt").read_text(encoding="utf-8")
