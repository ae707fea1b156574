"""The built tarball, installed into a user's own project, on ansible-core 2.17, 2.18 and 2.19.

The project has its own ansible.cfg, inventory (passwords in a vaulted group_vars file) and playbooks; it uses the
installed collection only (never the checkout). Against a fresh field lab per version: the nightly run exits
non-zero naming every drifting server and its codes, the gate prints each failure once, remediate converges, and
a second nightly run exits 0. ansible-core 2.17 and 2.18 come from .venv-compat/ (tests/support/compat_venv.py
builds them when missing, so nothing is skipped on a fresh machine).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.fleet.test_compliance_run import BROKEN
from tests.lab import LabHandle, start_lab
from tests.support import compat_venv

pytestmark = [pytest.mark.lab, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
VAULT_PASSWORD = "project-vault-Pw7"
SECRET_VARS = ("ansible_password", "certwarden_pfx_password")
DRIFT_LINE = re.compile(r'^\s+"([a-z-]+: [a-z_]+(?: \(warning\))?: .*)",?$', re.M)
PLAYBOOKS = {
    "nightly.yml": "- name: Nightly certificate check\n  hosts: exchange\n  gather_facts: false\n"
    "  roles:\n    - role: certwarden.exchange.compliance\n",
    "gate.yml": "- name: Pre-renewal gate\n  ansible.builtin.import_playbook: certwarden.exchange.gate\n",
    # The services restart where the change needs it, so that the re-check sees the fix on the wire too.
    "remediate.yml": "- name: Remediate\n  ansible.builtin.import_playbook: certwarden.exchange.remediate\n"
    "  vars:\n    certwarden_restart_services: when_needed\n",
}


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CERTWARDEN_"))}
    return {**env, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **extra}


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build")
    galaxy = Path(sys.executable).with_name("ansible-galaxy")
    subprocess.run(
        [str(galaxy), "collection", "build", "--output-path", str(out), str(REPO)],
        env=_clean_env({"ANSIBLE_HOME": str(out / "home")}),
        capture_output=True,
        check=True,
        timeout=300,
    )
    [archive] = out.glob("certwarden-exchange-*.tar.gz")
    return archive


def ansible_bin(version: str) -> Path:
    return Path(sys.executable).parent if version == "2.19" else compat_venv.ensure(version)


def make_project(folder: Path, lab: LabHandle, archive: Path, bin_dir: Path) -> dict[str, str]:
    """A user's project: ansible.cfg, inventory, vaulted secrets, playbooks, the collection from the tarball."""
    folder.mkdir(parents=True)
    (folder / "ansible.cfg").write_text(
        "[defaults]\ncollections_path = ./collections\ninventory = ./inventory\nhost_key_checking = False\n"
        "retry_files_enabled = False\nforks = 5\n",
        encoding="utf-8",
    )
    document = yaml.safe_load(lab.inventory_path.read_text(encoding="utf-8"))
    group = document["all"]["children"]["exchange"]
    secrets = {"ansible_password": None, "certwarden_pfx_password": group["vars"].pop("certwarden_pfx_password")}
    for host_vars in group["hosts"].values():
        secrets["ansible_password"] = host_vars.pop("ansible_password")
    group["vars"]["certwarden_backup_local_directory"] = str(folder / "backups")
    (folder / "inventory" / "group_vars" / "exchange").mkdir(parents=True)
    (folder / "inventory" / "hosts.yml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    vault_file = folder / "inventory" / "group_vars" / "exchange" / "vault.yml"
    vault_file.write_text(yaml.safe_dump(secrets), encoding="utf-8")
    (folder / ".vault-pass").write_text(VAULT_PASSWORD, encoding="utf-8")
    env = _clean_env(
        {
            "ANSIBLE_CONFIG": str(folder / "ansible.cfg"),
            "ANSIBLE_VAULT_PASSWORD_FILE": str(folder / ".vault-pass"),
            "ANSIBLE_HOME": str(folder / ".ansible"),
        }
    )
    subprocess.run(
        [str(bin_dir / "ansible-vault"), "encrypt", str(vault_file)],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    assert vault_file.read_text(encoding="utf-8").startswith("$ANSIBLE_VAULT;")
    subprocess.run(
        [str(bin_dir / "ansible-galaxy"), "collection", "install", "-p", "collections", str(archive)],
        cwd=folder, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    for name, text in PLAYBOOKS.items():
        (folder / name).write_text("---\n" + text, encoding="utf-8")
    return env


def play(bin_dir: Path, project: Path, env: dict[str, str], playbook: str) -> tuple[int, str]:
    done = subprocess.run(
        [str(bin_dir / "ansible-playbook"), playbook],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(params=["2.17", "2.18", "2.19"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def field(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    lab = start_lab(tmp_path_factory.mktemp("matrix") / "lab", "field")
    yield lab
    lab.stop()


def test_installed_tarball_nightly_gate_remediate(
    version: str, field: LabHandle, tarball: Path, tmp_path: Path
) -> None:
    bin_dir = ansible_bin(version)
    core = subprocess.run([str(bin_dir / "ansible-playbook"), "--version"], capture_output=True, text=True, check=True)
    assert f"core {version}." in core.stdout
    project = tmp_path / "project"
    env = make_project(project, field, tarball, bin_dir)

    rc, nightly = play(bin_dir, project, env, "nightly.yml")
    assert rc == 2, nightly[-4000:]
    assert str(project / "collections") in nightly or "certwarden.exchange.compliance" in nightly
    for host in BROKEN:
        assert re.search(rf'"msg": "{host} drifts: [a-z_, ]+"', nightly), (version, host, nightly[-3000:])
    assert "healthy drifts" not in nightly and str(REPO) not in nightly

    rc, gate = play(bin_dir, project, env, "gate.yml")
    assert rc == 2, gate[-4000:]
    lines = DRIFT_LINE.findall(gate)
    assert lines and all(gate.count(line) == 1 for line in lines), version
    assert "The renewal gate failed on 8 of 9 server(s)" in gate

    rc, remediate = play(bin_dir, project, env, "remediate.yml")
    assert rc == 0, remediate[-4000:]
    rc, again = play(bin_dir, project, env, "nightly.yml")
    assert rc == 0, again[-4000:]
    assert " drifts" not in again
