"""Cut the connection before and after every step of every scenario's plan, then run again.

For each broken server the lab can build, the test first asks check mode for
the plan, then makes one case host per (step k, before|after) with a
``once`` fault that drops the WinRM connection at that point of the apply.
One ansible-playbook run hits every case (each is unreachable: the apply was
cut), a second run must converge. Then, for every case:

* the server is compliant;
* no observation the lab made after any step of either apply saw a
  connector, the hybrid configuration, an Exchange service entry, an IIS
  binding or the internal transport naming a certificate that was not in
  the store (tests/lab/observer.py);
* every certificate that left any store is in a backup the server verified
  and cert_restore brings back byte-identical (certificate and key).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.lab.observer import read_observations
from tests.reliability.case_lab import KINDS, Case, CaseLab, store_contents
from tests.reliability.matrix import record_row
from tests.support.lab_plays import COMPLIANCE_TASK, RESTORE_TASK, compliance_play, restore_play
from tests.support.playbook import run_playbook

pytestmark = [pytest.mark.lab, pytest.mark.slow]
STORES = ("My", "CA", "Root", "AuthRoot")
BROKEN = [k for k in KINDS if k != "healthy"]


@pytest.fixture(scope="module")
def plans(case_lab: CaseLab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """kind -> the actions of its plan, from one check-mode run over one host per kind."""
    work = tmp_path_factory.mktemp("plans")
    hosts = case_lab.write_cases([Case(kind) for kind in KINDS], work / "hosts.yml")
    run = run_playbook(compliance_play(work / "backups"), work / "hosts.yml", work, check=True)
    results = run.results(COMPLIANCE_TASK)
    assert set(results) == set(hosts), run.output
    return {case.kind: [step["action"] for step in results[name]["plan"]] for name, case in hosts.items()}


def _fault(where: str, step: int) -> dict[str, object]:
    return {f"drop_{where}_step": step, "operation": "apply", "once": True}


def _all_stores(host_dir: Path) -> dict[tuple[str, str], tuple[bytes, bytes | None]]:
    return {(store, t): v for store in STORES for t, v in store_contents(host_dir, store).items()}


@pytest.mark.parametrize("kind", BROKEN)
def test_cut_before_and_after_every_step_then_rerun(
    kind: str, case_lab: CaseLab, plans: dict[str, list[str]], tmp_path: Path
) -> None:
    started = time.monotonic()
    plan = plans[kind]
    assert plan, f"{kind}: check mode planned nothing"
    cases = [
        Case(kind, _fault(where, k), f"{where} {k}") for k in range(1, len(plan) + 1) for where in ("before", "after")
    ]
    inventory = tmp_path / "hosts.yml"
    hosts = case_lab.write_cases(cases, inventory)
    originals = {name: _all_stores(case_lab.host_dir(name)) for name in hosts}
    backups = tmp_path / "backups"
    play = compliance_play(backups)

    cut = run_playbook(play, inventory, tmp_path / "cut")
    statuses = cut.statuses(COMPLIANCE_TASK)
    for name, case in hosts.items():
        assert statuses.get(name) == "unreachable", (name, case.label, cut.results(COMPLIANCE_TASK).get(name))
        message = cut.results(COMPLIANCE_TASK)[name]["msg"]
        assert "lost the connection" in message and name in message, message
        assert "Traceback" not in message
        assert not (case_lab.host_dir(name) / "faults.json").exists(), f"{name} ({case.label}): fault never fired"
        steps_seen = [o["step"] for o in read_observations(case_lab.host_dir(name))]
        where, k = case.label.split()
        assert max(steps_seen) == (int(k) - 1 if where == "before" else int(k)), (case.label, steps_seen)
    assert "Traceback" not in cut.output

    rerun = run_playbook(play, inventory, tmp_path / "rerun")
    assert "Traceback" not in rerun.output
    results = rerun.results(COMPLIANCE_TASK)
    for name, case in hosts.items():
        result = results[name]
        assert rerun.statuses(COMPLIANCE_TASK)[name] == "ok", (name, case.label, result.get("msg"))
        assert result["compliant"], (name, case.label, result.get("findings_after") or result["findings"])

    dangling = 0
    for name, case in hosts.items():
        for seen in read_observations(case_lab.host_dir(name)):
            dangling += len(seen["dangling"])
            assert seen["dangling"] == [], (name, case.label, seen)

    removed: dict[str, list[tuple[str, str]]] = {}
    for name in hosts:
        now = _all_stores(case_lab.host_dir(name))
        removed[name] = sorted(set(originals[name]) - set(now))
        for key in set(originals[name]) & set(now):
            assert now[key][0] == originals[name][key][0], (name, key, "certificate bytes changed")
        for store, thumb in removed[name]:
            assert store == "My", (name, store, thumb, "only duplicates in My are ever removed")
            assert list((case_lab.host_dir(name) / "filesystem").rglob(f"{thumb}.*")), (
                name,
                thumb,
                "removed without a backup on the server",
            )

    restored = 0
    with_removals = [name for name, gone in removed.items() if gone]
    if with_removals:
        restore = run_playbook(restore_play(backups), inventory, tmp_path / "restore", limit=",".join(with_removals))
        outcome = restore.results(RESTORE_TASK)
        for name in with_removals:
            assert restore.statuses(RESTORE_TASK).get(name) == "ok", (name, hosts[name].label, outcome.get(name))
            now = _all_stores(case_lab.host_dir(name))
            for key in removed[name]:
                assert key in now, (name, hosts[name].label, key, "not restored")
                der, key_bytes = originals[name][key]
                assert now[key][0] == der, (name, key, "restored certificate differs")
                assert (now[key][1] is None) == (key_bytes is None), (name, key, "private key not restored")
                restored += 1

    record_row(
        kind,
        {
            "scenario": kind,
            "plan": plan,
            "cases": len(cases),
            "unreachable": f"{sum(s == 'unreachable' for s in statuses.values())}/{len(cases)}",
            "compliant": f"{sum(bool(r.get('compliant')) for r in results.values())}/{len(cases)}",
            "dangling": dangling,
            "removed": sum(len(v) for v in removed.values()),
            "restored": restored,
            "seconds": time.monotonic() - started,
        },
    )
