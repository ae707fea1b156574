"""The collection builds with ansible-galaxy, installs, and its plugins resolve from the install."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODULES = ("cert_facts", "cert_compliance", "cert_restore", "smtp_tls_probe", "protocol_log")


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_build_install_and_document(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_HOME"] = str(tmp_path / "ansible-home")
    built = run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(REPO)], REPO, env
    )
    assert built.returncode == 0, built.stderr
    [archive] = tmp_path.glob("certwarden-exchange-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "plugins/plugin_utils/_wire/agent.ps1" in names and "meta/runtime.yml" in names
    assert not [n for n in names if n.startswith((".venv", ".lab", "collections/", "reports/", ".ansible/"))]

    target = tmp_path / "installed"
    installed = run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "-p", str(target), str(archive)], tmp_path, env
    )
    assert installed.returncode == 0, installed.stderr
    assert (target / "ansible_collections" / "certwarden" / "exchange" / "MANIFEST.json").is_file()

    env["ANSIBLE_COLLECTIONS_PATH"] = str(target)
    for module in MODULES:
        doc = run([str(BIN / "ansible-doc"), f"certwarden.exchange.{module}"], tmp_path, env)
        assert doc.returncode == 0, doc.stderr
        assert str(target) in doc.stdout, f"{module} did not resolve from the installed collection"
