"""``python -m tests.lab start --from DIR``: a lab served from host folders a user wrote, in two organisations."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.lab import state_digest
from tests.lab.control import REPO_ROOT, stop_lab
from tests.lab.scenarios import build_lab
from tests.lab.state import read_json, write_json
from tests.support.playbook import PlaybookRun, run_playbook


def _user_folders(tmp_path: Path) -> Path:
    """Folders as a user writes them: hosts/<name>/ and orgs/<org>/, no lab.json, no scenario.json, no pki/."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    record = build_lab(scratch, "missing-intermediate")
    source = tmp_path / "mine"
    (source / "hosts").mkdir(parents=True)
    for old, new, org in (("EX01", "mbx-a", "contoso"), ("EX02", "mbx-b", "contoso"), ("EX03", "edge-1", "fabrikam")):
        shutil.copytree(scratch / "hosts" / old, source / "hosts" / new)
        info = read_json(source / "hosts" / new / "host.json")
        for key in ("port", "scheme", "auth"):
            info.pop(key)
        write_json(
            source / "hosts" / new / "host.json", dict(info, org=org, intended_thumbprint=record["pki"]["renewed"])
        )
    shutil.copytree(scratch / "orgs" / "contoso", source / "orgs" / "contoso")
    shutil.copytree(scratch / "orgs" / "contoso", source / "orgs" / "fabrikam")
    for org, servers in (("contoso", {"EX01", "EX02"}), ("fabrikam", {"EX03"})):
        path = source / "orgs" / org / "receive_connectors.json"
        write_json(path, [c for c in read_json(path) if c["server"] in servers])
    return source


def _results(run: PlaybookRun, task: str) -> dict[str, dict[str, Any]]:
    return {r["host"]: r["result"] for r in run.records if task in r["task"]}


def _lab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.lab", *args],
        check=False,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_start_from_folders_serves_every_host_with_an_inventory(tmp_path: Path) -> None:
    source = _user_folders(tmp_path)
    untouched = state_digest(source)
    lab_dir, inventory = tmp_path / "lab", tmp_path / "hosts.yml"
    started = _lab("start", "--from", str(source), "--dir", str(lab_dir), "--inventory", str(inventory))
    assert started.returncode == 0, started.stderr
    try:
        assert "3 hosts" in started.stdout
        run = run_playbook(REPO_ROOT / "playbooks" / "compliance.yml", inventory, tmp_path / "run")
        results = _results(run, "Compare the server with the desired state")
        assert set(results) == {"mbx-a", "mbx-b", "edge-1"}, run.output
        codes = {name: {f["code"] for f in r["findings"]} for name, r in results.items()}
        assert "incomplete_chain" in codes["mbx-b"] and "incomplete_chain" not in codes["mbx-a"]
        # The check's own task probes SMTP first, then HTTPS.
        smtp = {name: r["probes"][0] for name, r in results.items()}
        assert {name: (probe["protocol"], bool(probe["chain"])) for name, probe in smtp.items()} == dict.fromkeys(
            results, ("SMTP", True)
        )
        assert json.loads((lab_dir / "lab.json").read_text())["scenario"] == "from-folders"
    finally:
        stop_lab(lab_dir)
    assert state_digest(source) == untouched  # the user's folders are copied, never changed


def test_folders_without_the_documented_shape_are_refused_by_name(tmp_path: Path) -> None:
    source = tmp_path / "bad"
    (source / "hosts" / "ex9").mkdir(parents=True)
    (source / "hosts" / "ex9" / "host.json").write_text('{"org": "contoso"}')
    done = _lab("start", "--from", str(source), "--dir", str(tmp_path / "lab"), "--inventory", str(tmp_path / "i.yml"))
    assert done.returncode == 1
    assert "host.json: 'computer_name' must be a non-empty string" in done.stderr
    assert "Traceback" not in done.stderr
