from __future__ import annotations

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import dns_matches
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    InputError,
    load_pem_bundle,
    normalize_thumbprint,
    parse_certificate,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import (
    build_tls_certificate_name,
    names_equal,
    parse_tls_certificate_name,
    parse_windows_dn,
)


def test_windows_dn_with_quotes_state_and_oids():
    dn = parse_windows_dn('CN=mail.contoso.com, OU=IT, O="Contoso, Ltd", L=Redmond, S=Washington, C=US')
    assert dn.get("O") == ["Contoso, Ltd"] and dn.get("ST") == ["Washington"]
    assert names_equal(dn, 'C=US,ST=washington,L=Redmond,O="Contoso,  Ltd",OU=IT,CN=MAIL.contoso.com')
    assert names_equal("E=a@b.c, OID.2.5.4.3=x", "CN=x, EMAILADDRESS=a@b.c")
    assert not names_equal("CN=x, O=a", "CN=x, O=b")
    assert not names_equal("CN=x, O=a", "CN=x, O=a, O=a")  # multisets, not sets


@pytest.mark.parametrize("bad", ["", "CN", 'CN="open', "FOO=bar", "CN=a,,O=b"])
def test_bad_dns_are_rejected_with_the_text(bad):
    with pytest.raises(InputError):
        parse_windows_dn(bad)


def test_certificate_names_compare_with_host_strings(pki):
    cert = parse_certificate(pki.leaf.der)
    assert cert.subject_str == "CN=mail.contoso.com, O=Contoso Ltd, L=Redmond, S=Washington, C=US"
    assert names_equal(cert.subject, "C=US, S=Washington, L=Redmond, O=Contoso Ltd, CN=mail.contoso.com")


def test_tls_certificate_name_round_trip():
    text = build_tls_certificate_name("CN=CA, O=X", 'CN=mail, O="A, B"')
    assert text == '<I>CN=CA, O=X<S>CN=mail, O="A, B"'
    assert parse_tls_certificate_name(text) == ("CN=CA, O=X", 'CN=mail, O="A, B"')
    for bad in ("CN=x", "<I><S>CN=x", "<I>CN=x"):
        with pytest.raises(InputError, match="TlsCertificateName"):
            parse_tls_certificate_name(bad)


def test_certificate_model(pki):
    cert = parse_certificate(pki.leaf.der)
    assert cert.thumbprint == pki.leaf.thumbprint
    assert parse_certificate(pki.leaf.der) is cert  # cached per DER
    assert cert.sans == pki.sans and cert.key_type == "RSA" and cert.key_size == 2048
    assert cert.signature_hash == "sha256" and not cert.is_ca and "serverAuth" in cert.eku
    assert cert.aki == parse_certificate(pki.issuing_ca.der).ski and not cert.is_self_signed
    assert parse_certificate(pki.root.der).is_self_signed and parse_certificate(pki.root.der).is_ca
    weak = parse_certificate(pki.weak.der)
    assert weak.signature_hash == "sha1" and weak.key_size == 1024
    assert parse_certificate(pki.enterprise_leaf.der).aki is None
    assert cert.serial == format(pki.leaf.cert.serial_number, "X")


def test_thumbprint_normalisation():
    raw = "\u200e" + "ab cd:" * 6 + "0123456789abcdef"
    assert normalize_thumbprint(raw, "thumbprint") == ("ABCD" * 6) + "0123456789ABCDEF"
    with pytest.raises(InputError, match=r"option thumbprint: 'xyz' is not a thumbprint \(40 hexadecimal digits\)"):
        normalize_thumbprint("xyz", "thumbprint")


def test_pem_bundle_errors(pki):
    pem = pki.issuing_ca.pem + pki.policy_ca.pem
    assert [c.thumbprint for c in load_pem_bundle(pem, "chain")] == [
        pki.issuing_ca.thumbprint,
        pki.policy_ca.thumbprint,
    ]
    cases = {
        b"": "empty",
        pem[:-40]: "truncated",
        pki.leaf.der: "DER",
        pem + pki.leaf.key_pem(): "private key",
    }
    for data, words in cases.items():
        with pytest.raises(InputError, match=f"option chain: .*{words}"):
            load_pem_bundle(data, "chain")


def test_dns_matching():
    assert dns_matches("*.contoso.com", "mail.contoso.com")
    assert not dns_matches("*.contoso.com", "a.b.contoso.com")
    assert not dns_matches("*.com", "contoso.com")
    assert dns_matches("MAIL.contoso.com.", "mail.contoso.com")
