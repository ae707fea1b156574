# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file is documentation only: the action plugin of the same name does the work.

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_restore
short_description: Put back certificates that cert_compliance removed, from its backups
version_added: 0.1.0
description:
  - Reads the backup folder that M(certwarden.exchange.cert_compliance) wrote on the controller for this host
    (O(src)/C(<inventory_hostname>)), checks every backup file against its recorded SHA-256 and thumbprint, and
    imports into the server's store each backed-up certificate that is not there, in one WinRM command.
  - A PFX backup comes back with its private key; a DER backup comes back as the public certificate only, and the
    result says so.
  - Idempotent, a certificate already in its store is left alone.
  - A host with no backups in O(src) (cert_compliance never removed anything from it) is C(ok), with a C(msg)
    saying so and no WinRM command; a missing O(src) folder, or O(thumbprints) naming a certificate without a
    backup, is an error.
author:
  - certwarden.exchange developers (@certwarden)
extends_documentation_fragment:
  - certwarden.exchange.attributes
  - certwarden.exchange.attributes.WINDOWS
attributes:
  check_mode:
    support: full
    details: Reports which certificates it would restore; changes nothing.
  diff_mode:
    support: full
    details: The store's thumbprints before and after.
options:
  src:
    description: The controller folder given to cert_compliance as O(certwarden.exchange.cert_compliance#module:backup.local_directory).
    type: path
    required: true
  thumbprints:
    description: Restore only these certificates (normalised like every thumbprint). Default is every backup of the host.
    type: list
    elements: str
    default: []
  password:
    description: The password the PFX backups were protected with.
    type: str
  insecure_channel:
    description:
      - What to do when a PFX backup and its password, or the backup password (to fetch a backup an interrupted
        cert_compliance run was making), would travel to the server over plain HTTP without message encryption, or
        over HTTPS with C(ansible_winrm_server_cert_validation=ignore).
      - V(warn) restores and warns once per host; V(fail) stops before the first command that would carry them,
        nothing changed.
      - Check mode sends no secret, so it never warns.
    type: str
    choices: [warn, fail]
    default: warn
seealso:
  - module: certwarden.exchange.cert_compliance
"""

EXAMPLES = r"""
- name: Put back everything the last rollout removed from this server
  certwarden.exchange.cert_restore:
    src: "{{ playbook_dir }}/backups"
    password: "{{ vault_backup_password }}"

- name: Put back one certificate
  certwarden.exchange.cert_restore:
    src: "{{ playbook_dir }}/backups"
    thumbprints: ["{{ old_thumbprint }}"]  # as Windows shows it, for example 28F9FE7A9AE56938BCD67D5BFB3F7C50A3F6DCBE
    password: "{{ vault_backup_password }}"
"""

RETURN = r"""
restored:
  description: One entry per certificate put back (or that would be, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    thumbprint:
      description: The certificate.
      type: str
    store:
      description: The store it went back to.
      type: str
    kind:
      description: C(pfx) (with its private key) or C(der) (public certificate only).
      type: str
already_present:
  description: Thumbprints of backups whose certificate is already in its store.
  returned: always
  type: list
  elements: str
msg:
  description: Says there is nothing to restore, for a host without backups in O(src).
  returned: when the host has no backups
  type: str
applied:
  description: The result of every step sent to the server.
  returned: when changes were applied
  type: list
  elements: dict
"""
