"""cert_compliance's probes: refused before the read when they cannot mean anything, kept beside the check's result."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import ModuleFailure
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.wire_probes import (
    check_probe_options,
    probe_endpoints,
    with_probes,
)


def _closed_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _probe(port: int, tls: str = "starttls") -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "tls": tls, "server_name": None, "ca_bundle": None, "timeout": 2}


@pytest.mark.parametrize(
    ("probe", "words"),
    [({"port": 0, "timeout": 10}, "probes[1].port: 0"), ({"port": 25, "timeout": 0}, "probes[1].timeout: 0")],
)
def test_a_probe_that_cannot_mean_anything_is_refused_naming_it(probe: dict[str, Any], words: str) -> None:
    with pytest.raises(ModuleFailure, match=words.replace("[", r"\[").replace("]", r"\]")):
        check_probe_options([{"port": 25, "timeout": 10}, probe])


def test_an_endpoint_that_refuses_is_a_failed_probe_named_by_its_endpoint() -> None:
    port = _closed_port()
    [result] = probe_endpoints([_probe(port, "https")], None, None)
    assert result["failed"] is True and result["compliant"] is False
    assert result["endpoint"] == f"127.0.0.1:{port}" and result["protocol"] == "IIS"
    assert result["msg"].startswith("smtp_tls_probe: ")


def test_a_blocked_check_is_probed_and_keeps_its_failure() -> None:
    """Only a person can resolve the store: the findings stand, and what the wire shows joins them."""
    port = _closed_port()

    def blocked() -> dict[str, Any]:
        raise ModuleFailure("nothing was changed", findings=[{"code": "no_private_key"}])

    with pytest.raises(ModuleFailure) as raised:
        with_probes(blocked, [_probe(port)], None)
    assert [p["endpoint"] for p in raised.value.details["probes"]] == [f"127.0.0.1:{port}"]


def test_a_check_that_found_nothing_out_is_not_probed() -> None:
    def unreadable() -> dict[str, Any]:
        raise ModuleFailure("option certificate: neither")

    with pytest.raises(ModuleFailure) as raised:
        with_probes(unreadable, [_probe(_closed_port())], None)
    assert "probes" not in raised.value.details


def test_without_probes_the_result_is_the_check_alone() -> None:
    assert with_probes(lambda: {"findings": []}, [], None) == {"findings": []}


def test_a_bundle_without_roots_fails_each_probe_naming_the_option(tmp_path: Any) -> None:
    bundle = tmp_path / "roots.pem"
    bundle.write_text("", encoding="ascii")
    results = probe_endpoints([{**_probe(_closed_port()), "ca_bundle": str(bundle)}] * 2, None, None)
    assert [r["failed"] for r in results] == [True, True]
    assert all(r["msg"].startswith("smtp_tls_probe: option ca_bundle: ") for r in results), results
