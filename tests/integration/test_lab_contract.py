"""The simulated server against the contract examples the transport is tested with.

Each example in tests/contract/examples/ describes the state it met; all of
them start from the state of ``read_ok``. This test rebuilds that state as a
lab host folder (the examples carry the keys of its certificates), replays
every example's request through WinRM, and checks the simulated server answers
as the example does: the same error categories, the same step statuses, and
results of the same shape.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.lab.client import LabClient
from tests.lab.state import HostState, write_json

pytestmark = pytest.mark.lab

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "contract" / "examples"
EXAMPLES = {p.stem: json.loads(p.read_text(encoding="ascii")) for p in sorted(EXAMPLES_DIR.glob("*.json"))}
STATE = EXAMPLES["read_ok"]
# Conditions the simulated server cannot produce: an account that may not open a store.
NOT_SIMULATED = {"read_access_denied"}
# Examples that describe a server without the Exchange management tools.
WITHOUT_EXCHANGE = {name for name in EXAMPLES if "exchange_unavailable" in name or name == "read_without_exchange"}
# Results whose values depend on the moment and the host, not on the contract.
VOLATILE = {"time_utc", "modified_utc", "size", "content_b64", "sha256", "path", "status", "truncated", "name"}


def write_state(host_dir: Path, *, exchange: bool, org: str, port: int, auth: dict[str, str]) -> None:
    """``read_ok``'s state as a lab host folder (docs/lab.md), served on ``port`` with ``auth``."""
    result = STATE["response"]["result"]
    ex = result["exchange"]
    host = result["host"]
    write_json(
        host_dir / "host.json",
        {
            "computer_name": host["computer_name"],
            "fqdn": host["fqdn"],
            "org": org,
            "exchange": exchange,
            "exchange_version": ex["version"],
            "os": host["os"],
            "auth": auth,
            "port": port,
            "scheme": "http",
        },
    )
    state = HostState(host_dir)
    for store, entries in result["stores"].items():
        state.store_dir(store).mkdir(parents=True, exist_ok=True)
        for entry in entries:
            cert = x509.load_der_x509_certificate(base64.b64decode(entry["der_b64"]))
            key = STATE["host_keys"].get(entry["thumbprint"]) if entry["has_private_key"] else None
            state.add_certificate(
                store,
                cert,
                key.encode("ascii") if key else None,
                entry["friendly_name"] or None,
                bool(entry["private_key_exportable"]),
            )
    state.write_exchange_certificates({c["thumbprint"]: {"services": c["services"]} for c in ex["certificates"]})
    state.write_transport(ex["transport_service"])
    # The examples' server without Exchange has no Exchange web sites either.
    state.write_iis_bindings(result["iis_bindings"] if exchange else [])
    state.write_org("send_connectors.json", ex["send_connectors"])
    state.write_org("receive_connectors.json", ex["receive_connectors"])
    state.write_org("hybrid.json", ex["hybrid_configuration"])
    for folder in (
        "logs/SmtpSend",
        "logs/SmtpReceive",
        "logs/FrontEnd/SmtpSend",
        "logs/FrontEnd/SmtpReceive",
        "filesystem/C",
    ):
        (host_dir / folder).mkdir(parents=True, exist_ok=True)
    write_logs(host_dir)


def write_logs(host_dir: Path) -> None:
    """The protocol log files the read_logs examples met, oldest first by modification time."""
    files = EXAMPLES["read_logs_default_paths"]["response"]["result"]["files"]
    for age, entry in enumerate(reversed(files), start=1):
        folder = "SmtpSend" if entry["name"].upper().startswith("SEND") else "SmtpReceive"
        target = host_dir / "logs" / folder / entry["name"]
        target.write_bytes(base64.b64decode(entry["content_b64"]))
        stamp = time.time() - 60 * age
        os.utime(target, (stamp, stamp))


def shape(value: Any) -> Any:
    """The keys of every object, recursively, with volatile values left out; lists by their elements' shapes."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        shapes = {json.dumps(shape(v), sort_keys=True) for v in value}
        return sorted(shapes)
    return type(value).__name__ if value is not None else "null"


@pytest.fixture
def contract_host(lab_factory, tmp_path: Path):
    """A running lab whose first host is rebuilt, per example, from the examples' state."""
    lab = lab_factory("healthy", hosts=1)
    name = lab.hosts[0]
    host_dir = lab.host_dir(name)
    info = json.loads((host_dir / "host.json").read_text())

    def rebuild(*, exchange: bool) -> LabClient:
        for child in ("stores", "exchange", "iis", "logs", "filesystem"):
            target = host_dir / child
            if target.exists():
                for path in sorted(target.rglob("*"), reverse=True):
                    path.unlink() if path.is_file() else path.rmdir()
        # Keep the port and credentials the running server listens with.
        write_state(host_dir, exchange=exchange, org=info["org"], port=info["port"], auth=info["auth"])
        return LabClient(lab, name)

    return rebuild


@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - NOT_SIMULATED))
def test_the_simulated_server_answers_as_the_example(name: str, contract_host) -> None:
    example = EXAMPLES[name]
    client = contract_host(exchange=name not in WITHOUT_EXCHANGE)
    request, expected = example["request"], example["response"]
    answer = client.agent(request["operation"], request["options"], version=request["agent_version"]).document()

    assert answer["ok"] is expected["ok"], (example["description"], answer)
    assert answer["operation"] == expected["operation"]
    if not expected["ok"]:
        assert answer["error"]["category"] == expected["error"]["category"], answer["error"]
        return
    if request["operation"] == "apply":
        messages = [r.get("message") for r in answer["result"]["results"]]
        got = [(r["id"], r["action"], r["status"]) for r in answer["result"]["results"]]
        want = [(r["id"], r["action"], r["status"]) for r in expected["result"]["results"]]
        assert got == want, (example["description"], messages)
        for mine, theirs in zip(answer["result"]["results"], expected["result"]["results"], strict=True):
            assert shape(mine.get("data")) == shape(theirs.get("data")), (mine["action"], mine.get("data"))
        assert answer["result"]["completed"] == expected["result"]["completed"]
        assert answer["result"]["failed"] is expected["result"]["failed"]
        if "after" in expected["result"]:  # read_after: the fresh read has the read's shape
            assert shape(answer["result"]["after"]) == shape(expected["result"]["after"]), example["description"]
            assert answer["result"]["after_error"] is None
        return
    assert shape(answer["result"]) == shape(expected["result"]), example["description"]
