"""Names as Windows renders them: a backslash is an ordinary character, ``<S>`` inside a value is quoted.

Windows' CertNameToStr (CERT_X500_NAME_STR, what ``X509Certificate2.Subject`` and
Exchange's TlsCertificateName show) quotes a value holding ``, + = " < > # ;``, a
newline or leading/trailing spaces, and doubles an inner quote; it never escapes
with a backslash.
"""

from __future__ import annotations

import datetime as dt

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import (
    format_windows_dn,
    parse_tls_certificate_name,
    parse_windows_dn,
)
from tests.support.pki import key_for, make_certificate, name
from tests.support.snapshots import tls_name
from tests.unit.scenario_helpers import bound_to, by_code, run, want

DAY = dt.timedelta(days=1)


def test_a_backslash_is_part_of_the_value(pki) -> None:
    leaf = pki.issue(
        name("mail.contoso.com", org="Contoso\\Europe"),
        "backslash-leaf",
        not_before=pki.now - DAY,
        not_after=pki.now + 300 * DAY,
    )
    rendered = format_windows_dn(leaf.cert.subject)
    assert "O=Contoso\\Europe" in rendered  # literal: Windows does not escape it
    assert parse_windows_dn(rendered).get("O") == ["Contoso\\Europe"]
    analysis = run(pki, bound_to(pki, leaf), want(leaf))
    for code in ("connector_mismatch", "hybrid_mismatch", "connector_certificate_not_found"):
        assert by_code(analysis, code) == [], code
    assert analysis.compliant, [f.code for f in analysis.findings]


def test_an_issuer_holding_the_subject_marker_is_split_where_exchange_splits(pki) -> None:
    issuer = make_certificate(
        name("Odd <S> Issuing CA", org="Contoso<S>Labs"),
        key_for("odd-issuer"),
        pki.policy_ca,
        not_before=pki.now - 10 * DAY,
        not_after=pki.now + 1000 * DAY,
        ca=True,
        path_length=0,
    )
    leaf = pki.issue(
        name("mail.contoso.com"),
        "odd-issuer-leaf",
        not_before=pki.now - DAY,
        not_after=pki.now + 300 * DAY,
        issuer=issuer,
    )
    text = tls_name(leaf)
    assert 'CN="Odd <S> Issuing CA", O="Contoso<S>Labs"' in text  # quoted by the rendering
    issuer_text, subject_text = parse_tls_certificate_name(text)
    assert issuer_text == format_windows_dn(leaf.cert.issuer) and subject_text == format_windows_dn(leaf.cert.subject)
    analysis = run(pki, bound_to(pki, leaf, ca=(issuer, pki.policy_ca)), want(leaf))
    assert by_code(analysis, "connector_certificate_not_found") == []
    assert by_code(analysis, "connector_mismatch") == [] and by_code(analysis, "hybrid_mismatch") == []
