"""My's index: answers equal to scanning the store, for a state and for a plan's end state built from it."""

from __future__ import annotations

from dataclasses import replace

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.selection import (
    StoreIndex,
    _matches_fqdn,
    certificates_named,
)
from tests.support.snapshots import tls_name
from tests.unit.scenario_helpers import snap

FQDNS = ("mail.contoso.com", "legacy.contoso.com", "ex01.contoso.com", "MAIL.Contoso.com.", "nothing.example")


def _scan_may_name(items, fqdn):
    return tuple(i for i in items if i.has_private_key and _matches_fqdn(i, fqdn))


def _index_may_name(index, fqdn):
    return tuple(i for i in index.may_name(fqdn) if _matches_fqdn(i, fqdn))


def test_the_index_answers_as_a_scan_of_the_store(pki):
    host = snap(pki, my=(pki.leaf.without_key(), pki.renewed, pki.rebranded, pki.weak, pki.self_signed))
    index = StoreIndex(host.store("My"))
    for cert in (pki.leaf, pki.rebranded, pki.weak, pki.root):
        assert index.named(tls_name(cert)) == certificates_named(host, tls_name(cert))
    for fqdn in FQDNS:
        assert _index_may_name(index, fqdn) == _scan_may_name(host.store("My"), fqdn), fqdn


def test_an_end_state_index_sees_removed_added_and_changed_copies(pki):
    before = snap(pki, my=(pki.leaf.without_key(), pki.renewed, pki.weak))
    index = StoreIndex(before.store("My"))
    keyless, renewed, _weak = before.store("My")
    # The plan removes weak, gives the keyless leaf its key (a new object), imports the rebranded one.
    added = snap(pki, my=(pki.rebranded,)).store("My")[0]
    later = (renewed, replace(keyless, has_private_key=True), added)
    changed = index.changed_to(later)
    fresh = StoreIndex(later)
    for cert in (pki.leaf, pki.rebranded, pki.weak):
        assert changed.named(tls_name(cert)) == fresh.named(tls_name(cert)), cert
    for fqdn in FQDNS:
        assert _index_may_name(changed, fqdn) == _index_may_name(fresh, fqdn) == _scan_may_name(later, fqdn), fqdn
