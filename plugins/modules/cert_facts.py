# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file is documentation only: the action plugin of the same name does the work.

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_facts
short_description: Read the TLS certificate state of a Windows / Exchange server
version_added: 0.1.0
description:
  - Reads, in one WinRM command, the certificate stores C(My), C(CA), C(Root) and C(AuthRoot), the Exchange
    certificates with their services and status, the send and receive connectors, the hybrid configuration, the
    internal transport certificate and the IIS https bindings.
  - Returns them parsed, in a documented and stable shape, under RV(ansible_facts.certwarden_exchange), together
    with every finding that needs no desired state (store-wide duplicates, expiry, chains of bound certificates,
    connectors that name more than one certificate).
  - Where the Exchange management tools are absent, the Exchange part is null; that is not a failure.
author:
  - certwarden.exchange developers (@certwarden)
extends_documentation_fragment:
  - certwarden.exchange.attributes
  - certwarden.exchange.attributes.WINDOWS
attributes:
  check_mode:
    support: full
    details: It only reads, in check mode as in a normal run.
  diff_mode:
    support: none
options:
  expiry_warning_days:
    description: A bound certificate that expires within this many days is reported as C(expiring_soon).
    type: int
    default: 30
  include_der:
    description: Also return every certificate's DER, base64-encoded (large on servers with many roots).
    type: bool
    default: false
  save_to:
    description:
      - A folder on the controller; the read is also saved there as C(<inventory_hostname>.json), as the agent returned
        it (public certificates per store, Exchange's view of them, connectors, hybrid configuration, transport
        service, IIS bindings). It never holds a private key.
      - C(python -m tests.lab twin --facts <folder>) builds a twin of these servers to rehearse a rollout on
        (docs/rollout.md).
    type: path
seealso:
  - module: certwarden.exchange.cert_compliance
"""

EXAMPLES = r"""
- name: Read the certificate state of every Exchange server
  certwarden.exchange.cert_facts:

- name: Show the certificates Exchange uses for SMTP
  ansible.builtin.debug:
    msg: "{{ ansible_facts.certwarden_exchange.stores.My | selectattr('services', 'contains', 'SMTP') | map(attribute='thumbprint') }}"
"""

RETURN = r"""
saved_to:
  description: The file written for O(save_to).
  returned: when O(save_to) is given
  type: str
ansible_facts:
  description: Facts about the server's certificates.
  returned: always
  type: dict
  contains:
    certwarden_exchange:
      description:
        - The parsed state. C(host) (computer_name, fqdn, time_utc); C(stores) (My, CA, Root, AuthRoot, each a list of
          certificates with thumbprint, subject, issuer, serial, sans, not_before, not_after, days_to_expiry, key_type,
          key_size, signature_hash, is_ca, is_self_signed, eku, has_private_key, private_key_exportable, services,
          status); C(exchange) (server, version, send_connectors, receive_connectors, hybrid_configuration,
          transport_service) or null; C(iis_bindings); C(http_sys_bindings) (endpoint, thumbprint, store; the http.sys
          SSL bindings no IIS site owns, such as a WinRM HTTPS listener).
      type: dict
      returned: always
findings:
  description: Findings that need no desired state; see docs/findings.md.
  returned: always
  type: list
  elements: dict
compliant:
  description: True when none of the findings is an error.
  returned: always
  type: bool
"""
