"""Importing the action plugins does no work; the engine is warmed when a strategy first queues an analysing task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
ACTIONS = sorted(p.stem for p in (ROOT / "plugins" / "action").glob("*.py"))
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py"))
PREFIX = "ansible_collections.certwarden.exchange.plugins"

# Runs in a fresh interpreter, so that nothing this test session imported or warmed counts. It records every
# call of the functions that mean work: an analysis, a key generation, the warm-up itself, parsing a trust
# bundle, looking up the controller's name.
_PROBE = """
import importlib, json, sys
WORK = {"analyse", "generate_private_key", "warm_up", "load_trust", "controller_fqdn"}
calls = []
def profile(frame, event, arg):
    if event == "call" and frame.f_code.co_name in WORK:
        calls.append(frame.f_code.co_name)
sys.setprofile(profile)
classes = {name: importlib.import_module(f"%s.action.{name}").ActionModule for name in %r}
imported = list(calls)
queued = {}
for name, cls in classes.items():
    before = len(calls)
    bypass = cls.BYPASS_HOST_LOOP  # what the linear and free strategies read before queueing a task
    queued[name] = {"bypass": bypass, "calls": calls[before:]}
sys.setprofile(None)
print(json.dumps({"imported": imported, "queued": queued}))
"""


def _python(code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "collections"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return json.loads(done.stdout)


def test_importing_every_action_plugin_analyses_nothing_and_makes_no_key() -> None:
    result = _python(_PROBE % (PREFIX, ACTIONS))
    assert result["imported"] == []


def test_the_first_queued_analysing_task_warms_once_and_nothing_else_warms() -> None:
    queued = _python(_PROBE % (PREFIX, ACTIONS))["queued"]
    assert all(entry["bypass"] is False for entry in queued.values())
    warmed = [name for name, entry in queued.items() if "warm_up" in entry["calls"]]
    # cert_compliance is queued first (sorted), so it pays; cert_facts then finds the warm-up done.
    assert warmed == ["cert_compliance"], queued
    assert "analyse" in queued["cert_compliance"]["calls"]
    assert queued["cert_facts"]["calls"] == []  # the cached warm-up returns without running again


def test_ansible_doc_of_every_module_imports_no_engine_code() -> None:
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections"),
        "PYTHONPROFILEIMPORTTIME": "1",
    }
    for module in MODULES:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-doc"), f"certwarden.exchange.{module}"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=ROOT,
        )
        assert f"certwarden.exchange.{module}" in done.stdout  # the page was rendered
        imported = [line for line in done.stderr.splitlines() if "plugin_utils" in line]
        assert imported == [], f"ansible-doc {module} imported {imported}"


def test_the_first_queued_probing_task_parses_the_system_trust_and_names_the_controller_once() -> None:
    queued = _python(_PROBE % (PREFIX, ACTIONS))["queued"]
    parsing = [name for name, entry in queued.items() if "load_trust" in entry["calls"]]
    assert parsing == ["cert_compliance"], queued  # queued first (sorted); smtp_tls_probe finds it done
    assert "controller_fqdn" in queued["cert_compliance"]["calls"]
    assert queued["smtp_tls_probe"]["calls"] == []
