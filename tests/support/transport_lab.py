"""The transport lab shared by the transport tests: scenario ``healthy`` plus the transport hosts and the KDC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.lab import LabHandle
from tests.lab.kdc import kdc_files
from tests.support.playbook import REPO

ANSIBLE = str(Path(sys.executable).with_name("ansible"))


def controller_env(lab: LabHandle) -> dict[str, str]:
    """What a controller needs for the lab realm: its krb5.conf (docs/lab.md, "Kerberos")."""
    return {"KRB5_CONFIG": str(kdc_files(lab.dir).krb5_conf)}


def log_entries(lab: LabHandle, host: str) -> list[dict[str, Any]]:
    log = lab.host_dir(host) / "requests.log"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="ascii").splitlines() if line]


def run_ansible(lab: LabHandle, pattern: str, module: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``ansible -i <lab inventory> <pattern> -m <module>``: the ad-hoc command a user types."""
    return subprocess.run(
        [ANSIBLE, "-i", str(lab.inventory_path), pattern, "-m", module, *extra],
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), **controller_env(lab)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
