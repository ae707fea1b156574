"""smtp_tls_probe against real SMTP servers on loopback (aiosmtpd and a private Postfix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.tls_probe import ProbeError, run_probe
from tests.evidence.conftest import Servers
from tests.support.pki import TestPki
from tests.support.smtp_servers import free_port, write_bundle


def _params(port: int, ca_bundle: Path, **overrides: object) -> dict:
    """run_probe's parameters, as the action plugin passes them, for a server on 127.0.0.1."""
    params = {
        "host": "127.0.0.1",
        "port": port,
        "tls": "starttls",
        "server_name": "mail.contoso.com",
        "helo_name": "probe.test",
        "expected_thumbprint": None,
        "ca_bundle": str(ca_bundle),
        "timeout": 10,
    }
    params.update(overrides)
    return params


def _probe(servers: Servers, case: str, ca_bundle: Path, **extra: object) -> dict:
    port, tls = servers.endpoint(case)
    return run_probe(_params(port, ca_bundle, tls=tls, **extra))


def _codes(result: dict) -> list[str]:
    return [f["code"] for f in result["findings"]]


def test_full_chain_is_compliant_and_recorded_in_order(servers: Servers, pki: TestPki, trust_root: Path) -> None:
    result = _probe(servers, "full", trust_root, expected_thumbprint=pki.leaf.thumbprint.lower())
    assert [c["thumbprint"] for c in result["chain"]] == [
        pki.leaf.thumbprint,
        pki.issuing_ca.thumbprint,
        pki.policy_ca.thumbprint,
    ]
    assert [c["position"] for c in result["chain"]] == [0, 1, 2]
    leaf = result["chain"][0]
    assert leaf["subject"].startswith("CN=mail.contoso.com")
    assert int(leaf["serial"], 16) == pki.leaf.cert.serial_number
    assert "autodiscover.contoso.com" in leaf["sans"]
    assert result["starttls_offered"] is True
    assert result["tls_version"].startswith("TLSv1.")
    assert result["cipher"]
    assert result["banner"]
    assert result["findings"] == []
    assert result["compliant"] is True
    assert result["changed"] is False


def test_leaf_only_is_an_incomplete_chain(servers: Servers, pki: TestPki, trust_root: Path) -> None:
    result = _probe(servers, "leaf_only", trust_root)
    assert [c["thumbprint"] for c in result["chain"]] == [pki.leaf.thumbprint]
    assert _codes(result) == ["incomplete_chain"]
    finding = result["findings"][0]
    assert finding["evidence"]["missing_issuer"]["issuer"] == pki_issuing_name(pki)
    assert result["compliant"] is False


def pki_issuing_name(pki: TestPki) -> str:
    # Windows prints most specific first with S= for the state.
    return "CN=Certwarden TLS Issuing CA 1, O=Certwarden Trust, S=Washington, C=US"


def test_missing_intermediate_is_named_when_the_bundle_knows_it(servers: Servers, pki: TestPki, pem_dir: Path) -> None:
    bundle = write_bundle(pem_dir, "root_and_policy", [pki.root, pki.policy_ca])
    result = _probe(servers, "half_chain", bundle)
    assert _codes(result) == ["incomplete_chain"]
    assert result["findings"][0]["evidence"]["not_sent"] == [
        {
            "thumbprint": pki.policy_ca.thumbprint,
            "subject": "CN=Certwarden Policy CA, O=Certwarden Trust, C=US",
        }
    ]
    assert "Certwarden Policy CA" in result["findings"][0]["message"]


def test_wrong_leaf_names_the_certificate_sent(servers: Servers, pki: TestPki, trust_root: Path) -> None:
    # The renewal's duplicate: the renewed certificate is intended, the server still sends the old one.
    expected = "\u200e" + " ".join(pki.renewed.thumbprint[i : i + 2] for i in range(0, 40, 2)).lower()
    result = _probe(servers, "full", trust_root, expected_thumbprint=expected)
    assert _codes(result) == ["wrong_certificate_presented"]
    finding = result["findings"][0]
    assert finding["evidence"]["presented"] == pki.leaf.thumbprint
    assert finding["evidence"]["expected"] == pki.renewed.thumbprint
    assert pki.leaf.thumbprint in finding["message"]


def test_expired_leaf(servers: Servers, pki: TestPki, trust_root: Path) -> None:
    result = _probe(servers, "expired", trust_root)
    assert result["chain"][0]["thumbprint"] == pki.expired.thumbprint
    assert _codes(result) == ["expired"]
    assert result["findings"][0]["evidence"]["thumbprint"] == pki.expired.thumbprint


def test_starttls_not_offered(servers: Servers, trust_root: Path) -> None:
    result = _probe(servers, "no_starttls", trust_root)
    assert result["starttls_offered"] is False
    assert result["chain"] == []
    assert result["tls_version"] is None
    assert _codes(result) == ["starttls_not_offered"]
    assert result["compliant"] is False


def test_implicit_tls(servers: Servers, pki: TestPki, trust_root: Path) -> None:
    result = _probe(servers, "implicit", trust_root)
    assert result["starttls_offered"] is None
    assert [c["thumbprint"] for c in result["chain"]] == [
        pki.leaf.thumbprint,
        pki.issuing_ca.thumbprint,
        pki.policy_ca.thumbprint,
    ]
    assert "ESMTP" in result["banner"] or "SMTP" in result["banner"]
    assert result["compliant"] is True


def test_name_not_covered(servers: Servers, trust_root: Path) -> None:
    result = _probe(servers, "full", trust_root, server_name="mail.fabrikam.com")
    assert _codes(result) == ["name_not_covered"]
    assert result["findings"][0]["evidence"]["server_name"] == "mail.fabrikam.com"


def test_untrusted_root(servers: Servers, pki: TestPki, pem_dir: Path) -> None:
    other_roots = write_bundle(pem_dir, "legacy_only", [pki.legacy_root])
    result = _probe(servers, "full", other_roots)
    assert _codes(result) == ["untrusted_root"]


def test_cross_signed_root_completes_the_path(pki: TestPki, pem_dir: Path) -> None:
    # A peer that trusts only the legacy root needs the cross-signed certificate among
    # the intermediates; sent, the chain is complete, and not sent, it is named.
    from tests.support.smtp_servers import aiosmtpd_server, write_chain_pem

    legacy = write_bundle(pem_dir, "legacy_and_cross", [pki.legacy_root, pki.cross_root])
    with_cross = write_chain_pem(pem_dir, "with_cross", pki.leaf, (*pki.chain, pki.cross_root))
    with aiosmtpd_server(with_cross) as server:
        params = _params(server.port, legacy, helo_name=None)
        assert run_probe(params)["compliant"] is True
    without = write_chain_pem(pem_dir, "without_cross", pki.leaf, pki.chain)
    with aiosmtpd_server(without) as server:
        params["port"] = server.port
        result = run_probe(params)
        assert _codes(result) == ["incomplete_chain"]
        assert result["findings"][0]["evidence"]["not_sent"][0]["thumbprint"] == pki.cross_root.thumbprint


@pytest.mark.parametrize("value", ["", "12345", "Z" * 40, "A" * 41])
def test_bad_expected_thumbprint_names_the_option(value: str, trust_root: Path) -> None:
    params = _params(25, trust_root, server_name=None, helo_name=None, expected_thumbprint=value)
    with pytest.raises(InputError, match="expected_thumbprint"):
        run_probe(params)


def test_connection_refused_is_a_clear_sentence(trust_root: Path) -> None:
    port = free_port()
    params = _params(port, trust_root, server_name=None, helo_name=None, timeout=5)
    with pytest.raises(ProbeError, match=f"could not connect to 127.0.0.1:{port}"):
        run_probe(params)


def test_unreadable_ca_bundle_names_the_option(tmp_path: Path) -> None:
    params = _params(25, tmp_path / "missing.pem", server_name=None, helo_name=None, timeout=5)
    with pytest.raises(InputError, match="option ca_bundle"):
        run_probe(params)
