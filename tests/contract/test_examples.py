"""The contract examples agree with docs/agent-protocol.md and with themselves."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.contract.test_agent_ps1 import doc_step_actions

EXAMPLES = {p.stem: json.loads(p.read_text()) for p in sorted(Path(__file__).with_name("examples").glob("*.json"))}
CATEGORIES = {"version_mismatch", "bad_request", "exchange_unavailable", "access_denied", "internal"}
STATUSES = {"changed", "unchanged", "failed", "not_run"}


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest().upper()  # noqa: S324 - Windows' thumbprint


def test_there_are_examples_for_every_operation_succeeding_and_failing() -> None:
    seen = {(e["request"]["operation"], e["response"]["ok"]) for e in EXAMPLES.values()}
    for operation in ("read", "apply", "read_logs"):
        assert (operation, True) in seen and (operation, False) in seen, operation


def test_every_step_action_has_a_successful_example() -> None:
    done = {
        result["action"]
        for e in EXAMPLES.values()
        if e["request"]["operation"] == "apply" and e["response"]["ok"]
        for result in e["response"]["result"]["results"]
        if result["status"] in ("changed", "unchanged")
    }
    assert done == doc_step_actions()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_shape(name: str) -> None:
    example = EXAMPLES[name]
    # host_keys (read_ok only): the keys of the state the examples start from, for the simulated server.
    assert set(example) - {"host_keys"} == {"description", "request", "response"}
    request, response = example["request"], example["response"]
    assert set(request) == {"agent_version", "operation", "options"}
    assert set(response) == {"agent_version", "operation", "ok", "error", "result"}
    assert response["operation"] == request["operation"]
    if response["ok"]:
        assert response["error"] is None and isinstance(response["result"], dict)
    else:
        assert response["result"] is None
        assert response["error"]["category"] in CATEGORIES and response["error"]["message"]


@pytest.mark.parametrize("name", sorted(n for n, e in EXAMPLES.items() if e["request"]["operation"] == "apply"))
def test_apply_results_follow_the_steps(name: str) -> None:
    request, response = EXAMPLES[name]["request"], EXAMPLES[name]["response"]
    if not response["ok"]:
        return
    steps, result = request["options"]["steps"], response["result"]
    results = result["results"]
    assert [(r["id"], r["action"]) for r in results] == [(s["id"], s["action"]) for s in steps]
    assert all(r["status"] in STATUSES for r in results)
    statuses = [r["status"] for r in results]
    if "failed" in statuses:
        first = statuses.index("failed")
        assert all(s == "not_run" for s in statuses[first + 1 :])
        assert results[first]["message"]
    assert result["failed"] == ("failed" in statuses)
    assert result["completed"] == sum(s in ("changed", "unchanged") for s in statuses)
    text = json.dumps(response)
    for step in steps:
        for secret in ("password", "pfx_b64"):
            if step.get(secret):
                assert step[secret] not in text, f"{name} echoes {secret}"


def certificates_in(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        found = [value] if "der_b64" in value and "thumbprint" in value else []
        return found + [c for v in value.values() for c in certificates_in(v)]
    if isinstance(value, list):
        return [c for v in value for c in certificates_in(v)]
    return []


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_thumbprints_match_the_certificates(name: str) -> None:
    for entry in certificates_in(EXAMPLES[name]):
        der = base64.b64decode(entry["der_b64"])
        x509.load_der_x509_certificate(der)
        assert entry["thumbprint"] == sha1_hex(der)


def test_read_certificate_entries_are_complete() -> None:
    stores = EXAMPLES["read_ok"]["response"]["result"]["stores"]
    assert set(stores) == {"My", "CA", "Root", "AuthRoot"}
    for entry in (e for entries in stores.values() for e in entries):
        assert set(entry) == {
            "thumbprint",
            "der_b64",
            "subject",
            "issuer",
            "has_private_key",
            "private_key_exportable",
            "friendly_name",
        }
        if not entry["has_private_key"]:
            assert entry["private_key_exportable"] is None


def test_backup_data_describes_the_file_it_returns() -> None:
    for name in ("apply_backup_pfx", "apply_backup_der"):
        (result,) = EXAMPLES[name]["response"]["result"]["results"]
        data = result["data"]
        content = base64.b64decode(data["content_b64"])
        assert data["sha256"] == hashlib.sha256(content).hexdigest().upper()
        assert data["path"].endswith(data["thumbprint_read_back"] + {"pfx": ".pfx", "der": ".cer"}[data["kind"]])
        if data["kind"] == "der":
            assert sha1_hex(content) == data["thumbprint_read_back"]


def test_read_logs_files_are_newest_last_and_within_budget() -> None:
    for name, example in EXAMPLES.items():
        if example["request"]["operation"] != "read_logs" or not example["response"]["ok"]:
            continue
        files = example["response"]["result"]["files"]
        assert [f["modified_utc"] for f in files] == sorted(f["modified_utc"] for f in files), name
        sizes = [len(base64.b64decode(f["content_b64"])) for f in files]
        assert sum(sizes) <= example["request"]["options"]["max_bytes"], name
        for f, size in zip(files, sizes, strict=True):
            assert f["truncated"] == (size < f["size"]), name


def test_an_apply_that_reads_after_returns_a_whole_read() -> None:
    read_after = [e for e in EXAMPLES.values() if e["request"]["options"].get("read_after") is True]
    assert read_after, "an example of apply with read_after"
    read_keys = set(EXAMPLES["read_ok"]["response"]["result"])
    for example in read_after:
        result = example["response"]["result"]
        assert set(result) == {"results", "completed", "failed", "after", "after_error"}
        assert set(result["after"]) == read_keys and result["after_error"] is None
