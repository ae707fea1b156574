"""Release hygiene: the changelog lints and names the release, metadata has no placeholders, versions bounded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_changelog_fragments_lint_and_the_release_is_written() -> None:
    lint = subprocess.run(
        [str(BIN / "antsibull-changelog"), "lint"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    version = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))["version"]
    changes = yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text(encoding="utf-8"))
    assert version in changes["releases"]
    assert f"v{version}" in (REPO / "CHANGELOG.rst").read_text(encoding="utf-8")


def test_metadata_has_no_placeholder_and_ansible_is_bounded() -> None:
    galaxy = (REPO / "galaxy.yml").read_text(encoding="utf-8")
    assert "example.invalid" not in galaxy and "example.com" not in galaxy
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    assert runtime["requires_ansible"] == ">=2.17.0,<2.20.0"
