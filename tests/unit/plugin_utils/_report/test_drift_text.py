"""Short terminal lines for findings, the fail_on threshold, and %COMPUTERNAME% in connector names."""

from __future__ import annotations

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.drift_text import (
    check_threshold,
    reaches,
    short_message,
    verdict,
)

THUMB = "2F434AF276D6E34C69DB58F86F9B8B2A2C51D54F"
OTHER = "c824876168a362fdd222cf0fe50680ab955d6853"


def test_short_message_cuts_thumbprints_dns_and_the_host_prefix() -> None:
    message = (
        f"EX02: {OTHER} (CN=mail.contoso.com, O=Contoso Ltd, L=Redmond, S=Washington, C=US) is in use "
        f"instead of {THUMB}, issuer 'CN=Issuing CA 1, OU=PKI, O=Certwarden Trust, C=US'"
    )
    assert short_message(message) == (
        "C8248761... (CN=mail.contoso.com, O=Contoso Ltd) is in use instead of 2F434AF2..., "
        "issuer 'CN=Issuing CA 1, O=Certwarden Trust'"
    )


def test_a_tls_certificate_name_keeps_both_its_names_short() -> None:
    name = "<I>CN=Issuing CA 1, O=Trust, C=US<S>CN=mail.contoso.com, O=Contoso Ltd Group, L=Redmond, C=US"
    assert (
        short_message(f"names '{name}'")
        == "names '<I>CN=Issuing CA 1, O=Trust<S>CN=mail.contoso.com, O=Contoso Ltd Group'"
    )


FINDINGS = [
    {"code": "duplicate_certificate", "severity": "error", "message": f"EX1: two copies {THUMB}"},
    {"code": "expiring_soon", "severity": "warning", "message": f"EX1: {THUMB} expires in 4 days"},
    {"code": "duplicate_certificate", "severity": "error", "message": f"EX1: two copies {THUMB}"},
]


def test_the_verdict_names_every_code_once_and_one_line_per_error_finding() -> None:
    judged = verdict("ex1", FINDINGS, "error")
    assert judged.fails and judged.drifting
    assert judged.codes == ("duplicate_certificate", "expiring_soon")
    assert judged.lines == ("ex1: duplicate_certificate: two copies 2F434AF2...",)
    assert judged.headline("error") == "ex1 drifts: duplicate_certificate, expiring_soon"


def test_warning_threshold_fails_on_a_warning_and_lists_it() -> None:
    warning_only = [FINDINGS[1]]
    assert not verdict("ex1", warning_only, "error").fails
    judged = verdict("ex1", warning_only, "warning")
    assert judged.fails
    assert judged.lines == ("ex1: expiring_soon (warning): 2F434AF2... expires in 4 days",)


def test_never_only_reports_and_as_errors_promotes_a_code() -> None:
    judged = verdict("ex1", FINDINGS, "never")
    assert judged.drifting and not judged.fails
    assert "below certwarden_fail_on=never" in judged.headline("never")
    promoted = verdict("ex1", [FINDINGS[1]], "error", as_errors=["expiring_soon"])
    assert promoted.fails and promoted.lines == ("ex1: expiring_soon: 2F434AF2... expires in 4 days",)


def test_a_compliant_server_has_no_lines() -> None:
    judged = verdict("ex1", [], "warning")
    assert not judged.drifting and not judged.fails and judged.lines == ()
    assert judged.headline("warning") == "ex1: compliant"


@pytest.mark.parametrize("value", ["error", " Warning ", "NEVER"])
def test_threshold_values(value: str) -> None:
    assert check_threshold(value, "fail_on") == value.strip().lower()


def test_a_bad_threshold_names_the_option_and_value() -> None:
    with pytest.raises(ValueError, match="option fail_on: 'sometimes' must be one of error, warning, never"):
        check_threshold("sometimes", "fail_on")


def test_reaches() -> None:
    assert reaches("error", "warning") and reaches("warning", "warning") and reaches("error", "error")
    assert not reaches("warning", "error") and not reaches("error", "never")


def test_computer_name_placeholder_resolves_in_connector_names_only() -> None:
    desired = DesiredState(
        receive_connectors=("Default Frontend %COMPUTERNAME%", "Client Proxy %computername%", "Fixed"),
        send_connectors=("Outbound %COMPUTERNAME%",),
    )
    resolved = desired.for_computer("EX07")
    assert resolved.receive_connectors == ("Default Frontend EX07", "Client Proxy EX07", "Fixed")
    assert resolved.send_connectors == ("Outbound EX07",)
    untouched = DesiredState(receive_connectors=("Default Frontend EX01",))
    assert untouched.for_computer("EX07") is untouched
