"""Run the real ``ansible-playbook`` from tests and read back what every task returned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    records: list[dict[str, Any]] = field(default_factory=list)

    def results(self, task: str) -> dict[str, dict[str, Any]]:
        """The last result of ``task`` per host."""
        return {r["host"]: r["result"] for r in self.records if r["task"] == task}

    def statuses(self, task: str) -> dict[str, str]:
        return {r["host"]: r["status"] for r in self.records if r["task"] == task}

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_playbook(
    playbook: str | Path | list[dict[str, Any]],
    inventory: str | Path,
    workdir: Path,
    *,
    check: bool = False,
    diff: bool = False,
    limit: str | None = None,
    extra_vars: dict[str, Any] | None = None,
    verbosity: int = 0,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    cwd: Path = REPO,
) -> PlaybookRun:
    """Run a playbook (a path, or plays given as data) and capture every task result."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not isinstance(playbook, str | Path):
        path = workdir / "playbook.yml"
        path.write_text(yaml.safe_dump(playbook, sort_keys=False), encoding="utf-8")
        playbook = path
    capture = workdir / f"capture-{len(list(workdir.glob('capture-*')))}.jsonl"
    argv = [ANSIBLE_PLAYBOOK, "-i", str(inventory), str(playbook)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if limit:
        argv += ["--limit", limit]
    if extra_vars:
        argv += ["--extra-vars", json.dumps(extra_vars)]
    if verbosity:
        argv.append("-" + "v" * verbosity)
    callbacks = [os.environ.get("ANSIBLE_CALLBACKS_ENABLED", ""), "capture_results"]
    run_env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "tests" / "support" / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": ",".join(c for c in callbacks if c),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-tmp"),
        "CERTWARDEN_CAPTURE": str(capture),
        **(env or {}),
    }
    completed = subprocess.run(argv, cwd=cwd, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
    records = []
    if capture.exists():
        records = [json.loads(line) for line in capture.read_text(encoding="utf-8").splitlines() if line]
    return PlaybookRun(completed.returncode, completed.stdout, completed.stderr, records)
