"""Exchange's OAuth certificate through the real ansible-playbook: a renewal in progress keeps both copies.

A renewal (Set-AuthConfig -NewCertificateThumbprint) stages the next OAuth certificate beside the current
one: two self-signed copies with the same subject in My. Only Get-AuthConfig names them; the read reports
it, and cert_compliance applying with its defaults (duplicates: remove) must leave both where they are.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.lab.state import HostState, read_json, write_json
from tests.support.lab_plays import COMPLIANCE_TASK, compliance_play
from tests.support.pki import Issued, key_for, make_certificate
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.lab
SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Microsoft Exchange Server Auth Certificate")])


def _staged_renewal(lab, *, name_them: bool, subject: x509.Name = SUBJECT) -> tuple[HostState, Issued, Issued]:
    host = HostState(lab.host_dir(lab.hosts[0]))
    now = dt.datetime.now(dt.UTC)
    current, staged = (
        make_certificate(
            subject,
            key_for(f"{subject.rfc4514_string()} {label}"),
            not_before=now - dt.timedelta(days=age),
            not_after=now + dt.timedelta(days=1800 - age),
            server_auth=False,
        )
        for label, age in (("current", 900), ("next", 2))
    )
    for cert in (current, staged):
        host.add_certificate("My", cert.cert, cert.key_pem())
    if name_them:
        host.write_org("auth_config.json", {"current": current.thumbprint, "next": staged.thumbprint})
    return host, current, staged


def _in_my(host: HostState, cert: Issued) -> bool:
    return (host.store_dir("My") / f"{cert.thumbprint}.cer").is_file()


def test_a_staged_oauth_renewal_is_left_alone_by_an_apply(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("healthy", hosts=1)
    host, current, staged = _staged_renewal(lab, name_them=True)
    run = run_playbook(compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "run")
    result = run.results(COMPLIANCE_TASK)[lab.hosts[0]]
    assert run.rc == 0 and result["compliant"], run.output[-3000:]
    assert _in_my(host, current) and _in_my(host, staged)
    assert "duplicate_certificate" not in {f["code"] for f in result["findings"]}
    assert not [s for s in result["plan"] if s["action"] == "remove"]


def test_the_same_copies_not_named_by_authconfig_are_a_duplicate_and_one_goes(lab_factory, tmp_path: Path) -> None:
    """Guards the test above: it is AuthConfig, read from the server, that keeps them."""
    lab = lab_factory("healthy", hosts=1)
    host, current, staged = _staged_renewal(lab, name_them=False)
    run = run_playbook(compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "run")
    assert run.rc == 0, run.output[-3000:]
    assert _in_my(host, current) != _in_my(host, staged)


def test_an_account_without_get_authconfig_reads_and_keeps_self_signed_copies(lab_factory, tmp_path: Path) -> None:
    """The read does not fail without Get-AuthConfig; not knowing the OAuth certificate, no self-signed copy goes."""
    lab = lab_factory("healthy", hosts=1)
    host, current, staged = _staged_renewal(lab, name_them=True)
    info = read_json(host.dir / "host.json")
    info["exchange_shell"] = {**(info.get("exchange_shell") or {}), "rbac_missing": ["Get-AuthConfig"]}
    write_json(host.dir / "host.json", info)
    run = run_playbook(compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "run")
    result = run.results(COMPLIANCE_TASK)[lab.hosts[0]]
    assert "exchange_unavailable" not in str(result.get("msg", "")), result.get("msg")
    assert _in_my(host, current) and _in_my(host, staged)
    [duplicate] = [f for f in result["findings"] if f["code"] == "duplicate_certificate"]
    reasons = [r for rs in duplicate["evidence"]["kept_bound"].values() for r in rs]
    assert any("could not be read with this account" in r for r in reasons), reasons


def test_a_federation_trust_certificate_being_renewed_is_left_alone_too(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory("healthy", hosts=1)
    federation = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Federation")])
    host, current, staged = _staged_renewal(lab, name_them=False, subject=federation)
    host.write_org("federation_trusts.json", [{"current": current.thumbprint, "next": staged.thumbprint}])
    run = run_playbook(compliance_play(tmp_path / "backups"), lab.inventory_path, tmp_path / "run")
    result = run.results(COMPLIANCE_TASK)[lab.hosts[0]]
    assert run.rc == 0 and result["compliant"], run.output[-3000:]
    assert _in_my(host, current) and _in_my(host, staged)
