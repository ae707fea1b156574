"""The action plugins through a real ansible-playbook run on localhost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.evidence.test_protocol_log import HEADER, interleave, new_format_success, old_format_failure
from tests.support.pki import TestPki, non_positive_serial_root_pem
from tests.support.smtp_servers import aiosmtpd_server

REPO = Path(__file__).resolve().parents[2]


def run_playbook(
    tmp_path: Path,
    tasks: list[dict],
    inventory: Path | None = None,
    host: str = "localhost",
    output: list | None = None,
) -> dict:
    """Run ``tasks`` on ``host``; every task's registered result, by task name (and ansible's output to ``output``)."""
    out = tmp_path / "results.json"
    registered = {}
    for index, task in enumerate(tasks):
        task["register"] = f"result_{index}"
        registered[task["name"]] = f"result_{index}"
    collect = "{{ {" + ", ".join(f"'{name}': {var}" for name, var in registered.items()) + "} | to_json }}"
    tasks = [
        *tasks,
        {"name": "collect", "delegate_to": "localhost", "ansible.builtin.copy": {"content": collect, "dest": str(out)}},
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": host, "gather_facts": False, "tasks": tasks}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_LOCALHOST_WARNING="false")
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            str(inventory) if inventory else "localhost,",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            *([] if inventory else ["-e", "ansible_connection=local"]),
            str(playbook),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )
    assert out.exists(), completed.stdout + completed.stderr
    if output is not None:
        output.append(completed.stdout + completed.stderr)
    return json.loads(out.read_text())


def test_probe_through_ansible(tmp_path: Path, pki: TestPki, cases: dict, trust_root: Path) -> None:
    with aiosmtpd_server(cases["leaf_only"].chain_pem) as server:
        results = run_playbook(
            tmp_path,
            [
                {
                    "name": "probe",
                    "certwarden.exchange.smtp_tls_probe": {
                        "host": "127.0.0.1",
                        "port": server.port,
                        "server_name": "mail.contoso.com",
                        "expected_thumbprint": pki.leaf.thumbprint,
                        "ca_bundle": str(trust_root),
                    },
                },
                {
                    "name": "bad thumbprint",
                    "ignore_errors": True,
                    "certwarden.exchange.smtp_tls_probe": {
                        "host": "127.0.0.1",
                        "port": server.port,
                        "expected_thumbprint": "not-a-thumbprint",
                    },
                },
            ],
        )
    probe = results["probe"]
    assert probe.get("failed") is not True, probe
    assert probe["changed"] is False
    assert [c["thumbprint"] for c in probe["chain"]] == [pki.leaf.thumbprint]
    assert [f["code"] for f in probe["findings"]] == ["incomplete_chain"]
    bad = results["bad thumbprint"]
    assert bad["failed"] is True
    assert "expected_thumbprint" in bad["msg"] and "Traceback" not in bad["msg"]


def test_a_trusted_root_with_a_non_positive_serial_leaves_ansibles_output_clean(
    tmp_path: Path, pki: TestPki, cases: dict
) -> None:
    """Debian's bundle holds such a root: cryptography's warning must not reach every worker's stderr."""
    bundle = tmp_path / "system-like.pem"
    bundle.write_bytes(pki.root.pem + non_positive_serial_root_pem())
    output: list[str] = []
    with aiosmtpd_server(cases["full"].chain_pem) as server:
        probe = {"host": "127.0.0.1", "port": server.port, "server_name": "mail.contoso.com", "ca_bundle": str(bundle)}
        results = run_playbook(
            tmp_path, [{"name": "probe", "certwarden.exchange.smtp_tls_probe": probe}], output=output
        )
    assert results["probe"]["compliant"] is True, results["probe"]
    assert "serial number" not in output[0] and "stderr" not in output[0], output[0]


def test_a_server_sending_a_root_with_a_non_positive_serial_leaves_ansibles_output_clean(
    tmp_path: Path, pki: TestPki, trust_root: Path
) -> None:
    """Some servers send their root too: reading what was sent must not warn from every worker either."""
    chain = tmp_path / "chain-with-old-root.pem"
    chain.write_bytes(
        pki.leaf.key_pem() + pki.leaf.pem + b"".join(c.pem for c in pki.chain) + non_positive_serial_root_pem()
    )
    output: list[str] = []
    with aiosmtpd_server(chain) as server:
        probe = {
            "host": "127.0.0.1",
            "port": server.port,
            "server_name": "mail.contoso.com",
            "ca_bundle": str(trust_root),
        }
        results = run_playbook(
            tmp_path, [{"name": "probe", "certwarden.exchange.smtp_tls_probe": probe}], output=output
        )
    assert len(results["probe"]["chain"]) == 4, results["probe"]
    assert "serial number" not in output[0] and "stderr" not in output[0], output[0]


def test_protocol_log_src_through_ansible(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "SEND20261128-1.log").write_text(
        HEADER.format(kind="Send")
        + "".join(interleave(old_format_failure("A1", "10"), new_format_success("A2", "11"))),
        newline="",
    )
    results = run_playbook(
        tmp_path,
        [
            {"name": "logs", "certwarden.exchange.protocol_log": {"src": str(logs)}},
            {
                "name": "missing",
                "ignore_errors": True,
                "certwarden.exchange.protocol_log": {"src": str(tmp_path / "nowhere")},
            },
        ],
    )
    logs_result = results["logs"]
    assert logs_result["changed"] is False
    assert logs_result["sessions_total"] == 2
    assert [f["evidence"]["cause"] for f in logs_result["findings"]] == ["NoCredentials"]
    assert results["missing"]["failed"] is True
    assert "option src" in results["missing"]["msg"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    from tests.lab.control import start_lab

    handle = start_lab(tmp_path_factory.mktemp("lab"), "duplicate-no-key", hosts=3)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.mark.lab
def test_protocol_log_on_the_lab_correlates_the_duplicate(tmp_path: Path, lab) -> None:
    from tests.lab.control import state_digest

    ex02 = lab.record["hosts"]["EX02"]["thumbprints"]
    before = state_digest(lab.dir)
    results = run_playbook(
        tmp_path,
        [
            {"name": "logs", "certwarden.exchange.protocol_log": {}},
            {
                "name": "quiet",
                "check_mode": True,
                "certwarden.exchange.protocol_log": {"disable_verbose": ["Outbound to Office 365"]},
            },
        ],
        inventory=lab.inventory_path,
        host="EX02",
    )
    logs = results["logs"]
    assert logs.get("failed") is not True, logs
    [failure] = [f for f in logs["findings"] if f["code"] == "tls_failure_logged"]
    assert failure["evidence"]["cause"] == "NoCredentials"
    assert failure["evidence"]["connector"] == "Outbound to Office 365"
    assert failure["evidence"]["thumbprints"] == [ex02["keyless_copy"]]
    sentence = logs["correlation"][ex02["keyless_copy"]]
    assert "duplicate" in sentence and "has no private key" in sentence and ex02["intended"] in sentence
    quiet = results["quiet"]
    assert quiet["changed"] is True
    assert [s["level"] for s in quiet["verbose_steps"]] == ["None"]
    assert state_digest(lab.dir) == before  # check mode changed nothing
