"""Every module's EXAMPLES block runs as written, through ansible-playbook, against the lab.

The tasks are taken from the module's documentation unchanged; the test only supplies what a user's project
would: the variables they name (inventory and vault), the files they point at, and SMTP servers to probe.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lab import LabHandle, start_lab
from tests.support.playbook import PlaybookRun, run_playbook
from tests.support.smtp_servers import AiosmtpdServer, aiosmtpd_server

pytestmark = [pytest.mark.lab, pytest.mark.slow]
MODULES = "ansible_collections.certwarden.exchange.plugins.modules"
HOST = "EX02"  # the duplicate-no-key scenario's broken server: the rollout example has a duplicate to remove
# In this order: the rollout example removes the duplicate (a backup), cert_restore puts it back last.
ORDER = (
    "cert_compliance",
    "compliance_verdict",
    "cert_facts",
    "selftest",
    "protocol_log",
    "smtp_tls_probe",
    "report_merge",
    "cert_restore",
)


def examples(module: str) -> list[dict[str, Any]]:
    return yaml.safe_load(importlib.import_module(f"{MODULES}.{module}").EXAMPLES)


def test_every_module_is_covered() -> None:
    shipped = {p.stem for p in Path(__file__).parents[2].joinpath("plugins", "modules").glob("*.py")}
    assert shipped - {"__init__"} == set(ORDER)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("examples") / "lab", "duplicate-no-key")
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def smtp(lab: LabHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AiosmtpdServer, AiosmtpdServer]]:
    pki, label = lab.dir / "pki", lab.record["hosts"][HOST]["intended_label"]
    chain = tmp_path_factory.mktemp("smtp") / "chain.pem"
    chain.write_bytes(b"".join((pki / name).read_bytes() for name in (f"{label}.key", f"{label}.pem", "chain.pem")))
    with aiosmtpd_server(chain, "starttls") as starttls, aiosmtpd_server(chain, "implicit") as implicit:
        yield starttls, implicit


@pytest.fixture(scope="module")
def project(lab: LabHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's project folder: the files the examples name, relative to it."""
    folder = tmp_path_factory.mktemp("project")
    pki, label = lab.dir / "pki", lab.record["hosts"][HOST]["intended_label"]
    (folder / "files").mkdir()
    shutil.copy(pki / f"{label}.pfx", folder / "files" / "mail.contoso.com-2027.pfx")
    shutil.copy(pki / "chain.pem", folder / "files" / "issuing-chain.pem")
    shutil.copy(pki / "root.pem", folder / "files" / "roots.pem")
    return folder


def run_examples(module: str, lab: LabHandle, project: Path, extra_vars: dict[str, Any]) -> PlaybookRun:
    play = [{"name": f"{module} EXAMPLES", "hosts": "exchange", "gather_facts": False, "tasks": examples(module)}]
    path = project / f"{module}.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return run_playbook(
        path, lab.inventory_path, project / "runs" / module, limit=HOST, extra_vars=extra_vars, cwd=project
    )


def write_slices(lab: LabHandle, project: Path) -> None:
    """reports/slice-1..3: the report callback's output of three runs, one host each."""
    facts = [
        {"name": "read", "hosts": "exchange", "gather_facts": False, "tasks": [{"certwarden.exchange.cert_facts": {}}]}
    ]
    for index, host in enumerate(lab.hosts, start=1):
        folder = project / "reports" / f"slice-{index}"
        env = {
            "ANSIBLE_CALLBACKS_ENABLED": "certwarden.exchange.compliance_report",
            "CERTWARDEN_REPORT_DIR": str(folder),
        }
        run = run_playbook(facts, lab.inventory_path, project / "runs" / f"slice-{index}", limit=host, env=env)
        assert run.rc == 0 and (folder / "report.json").is_file(), run.output[-2000:]


def test_the_examples_run_as_written(
    lab: LabHandle, project: Path, smtp: tuple[AiosmtpdServer, AiosmtpdServer]
) -> None:
    starttls, implicit = smtp
    removed = lab.record["hosts"][HOST]["thumbprints"]
    duplicate = next(t for role, t in removed.items() if role != "intended")
    extra_vars = {
        "vault_pfx_password": lab.record["pfx_password"],
        "vault_backup_password": "Example-Backup-9",
        "old_thumbprint": duplicate,
        "smtp_host": "127.0.0.1",
        "smtp_port": starttls.port,
        "smtps_host": "127.0.0.1",
        "smtps_port": implicit.port,
    }
    # ansible-playbook runs in the project folder, so relative paths (files/roots.pem) are the project's.
    for module in ORDER:
        if module == "protocol_log":  # "logs copied off a server": what the server has logged so far
            shutil.copytree(lab.host_dir(HOST) / "logs" / "SmtpSend", project / "ex01-logs" / "SmtpSend")
        if module == "report_merge":  # the three slices' reports the example merges
            write_slices(lab, project)
        run = run_examples(module, lab, project, extra_vars)
        assert run.rc == 0, (module, run.output[-4000:])
        names = [task["name"] for task in examples(module)]
        for name in names:
            assert run.statuses(name).get(HOST) in ("ok", "changed"), (module, name, run.output[-3000:])
    backups = project / "backups" / HOST / "manifest.json"
    assert backups.is_file()
    assert run.results(names[-1])[HOST]["already_present"] == [duplicate]
