"""The probes' trust bundle: parsed once per unchanged file, and quiet about roots cryptography frowns on."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.trust_bundle import load_trust
from tests.support.pki import TestPki, non_positive_serial_root_pem


def _roots(trust: object) -> list[str]:
    return [c.subject_str for c in trust.anchors]  # type: ignore[attr-defined]


def test_an_unchanged_bundle_is_parsed_once(tmp_path: Path, pki: TestPki) -> None:
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pki.root.pem)
    assert load_trust(str(bundle)) is load_trust(str(bundle))


def test_a_rewritten_bundle_is_parsed_again(tmp_path: Path, pki: TestPki) -> None:
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pki.root.pem)
    first = load_trust(str(bundle))
    bundle.write_bytes(pki.root.pem + pki.legacy_root.pem)
    second = load_trust(str(bundle))
    assert second is not first
    assert len(second.anchors) == 2


def test_a_bundle_changed_in_place_to_the_same_size_is_parsed_again(tmp_path: Path, pki: TestPki) -> None:
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pki.root.pem)
    first = load_trust(str(bundle))
    bundle.write_bytes(pki.root.pem.replace(b"BEGIN CERTIFICATE", b"BEGIN CERTIFICATX"))  # the same size
    status = bundle.stat()
    os.utime(bundle, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    with pytest.raises(InputError):
        load_trust(str(bundle))  # parsed again: the damaged header is no bundle any more
    assert first.anchors


def test_a_bundle_replaced_by_another_file_with_the_same_bytes_is_parsed_again(tmp_path: Path, pki: TestPki) -> None:
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pki.root.pem)
    first = load_trust(str(bundle))
    replacement = tmp_path / "new.pem"
    replacement.write_bytes(pki.root.pem)
    os.utime(replacement, ns=(bundle.stat().st_atime_ns, bundle.stat().st_mtime_ns))
    replacement.replace(bundle)  # how package managers update a bundle: a new file renamed over the old
    assert load_trust(str(bundle)) is not first
    assert _roots(load_trust(str(bundle))) == _roots(first)


def test_a_root_with_a_non_positive_serial_is_read_without_a_warning(tmp_path: Path, pki: TestPki) -> None:
    bundle = tmp_path / "system-like.pem"
    bundle.write_bytes(pki.root.pem + non_positive_serial_root_pem())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trust = load_trust(str(bundle))
    assert [str(w.message) for w in caught] == []
    assert len(trust.anchors) + len(trust.intermediates) == 2


def test_the_warning_test_above_can_fail() -> None:
    """Guards it: without the collection's handling, loading that root does warn."""
    from cryptography import x509

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x509.load_pem_x509_certificates(non_positive_serial_root_pem())
    assert any("serial number" in str(w.message) for w in caught)
