# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file is documentation only: the action plugin of the same name does the work.

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_compliance
short_description: Declare the TLS certificate an Exchange server must use; report or remediate drift
version_added: 0.1.0
description:
  - Reads the server once (certificate stores C(My), C(CA), C(Root), C(AuthRoot), Exchange certificates and services,
    send and receive connectors, the hybrid configuration, the internal transport certificate and IIS bindings),
    compares it with the desired state given here, and reports every difference as a finding with a stable C(code).
  - The desired state is one valid certificate per subject and issuer, the full chain present, the intended
    certificate enabled for the given Exchange services, and every named connector, the hybrid configuration and
    the IIS bindings naming it.
  - In check mode it stops there and returns the C(plan) it would apply; C(changed) is true exactly when there is
    drift it would fix. One WinRM command per host.
  - Otherwise it applies the whole plan in one WinRM command, in an order where every prefix leaves the server no
    worse than before (chain, import, services, connectors, backup, removal), and the same command then reads the
    server again; that fresh read is what the module verifies. Two WinRM commands per host (one Exchange load each),
    whatever the number of steps.
  - It never removes the intended certificate, a certificate still bound to a service, connector, IIS binding or
    the internal transport, or any certificate without a backup that the server has read back and verified first.
  - With no O(certificate) at all, only store-wide compliance is enforced (duplicates, expiry, chains of bound
    certificates, ambiguous connectors).
author:
  - certwarden.exchange developers (@certwarden)
extends_documentation_fragment:
  - certwarden.exchange.attributes
  - certwarden.exchange.attributes.WINDOWS
attributes:
  check_mode:
    support: full
    details: One read of the server; nothing is changed.
  diff_mode:
    support: full
    details: Before and after of the certificate store, the Exchange services and the connector names.
options:
  certificate:
    description:
      - The intended certificate.
      - Give O(certificate.thumbprint) when the server already has it, O(certificate.pfx) to import it where it is
        missing, or both (the thumbprint is then checked against the PFX).
    type: dict
    suboptions:
      thumbprint:
        description:
          - SHA-1 thumbprint as Windows shows it. Spaces, colons and invisible characters copied from the
            certificate dialog (such as U+200E) are removed and case is ignored; anything else that is not 40
            hexadecimal digits is an error.
        type: str
      pfx:
        description:
          - A PKCS#12 file on the controller (Ansible Vault encrypted files are decrypted) holding the certificate and
            its private key. Intermediates in it are installed in the C(CA) store, never left in C(My).
        type: path
      password:
        description: The password of O(certificate.pfx).
        type: str
  chain:
    description:
      - A PEM bundle on the controller with the intermediate CA certificates (and optionally the root) that must be
        present on the server. Every certificate in it is checked to belong to the intended certificate's chain.
    type: path
  install_root:
    description: Also install the bundle's root into C(Root) when the server does not trust it.
    type: bool
    default: false
  services:
    description: Exchange services that must be enabled on the intended certificate (Enable-ExchangeCertificate is additive).
    type: list
    elements: str
    choices: [SMTP, IIS, IMAP, POP, UM, UMCallRouter, Federation]
    default: [SMTP]
  send_connectors:
    description: Send connectors whose C(TlsCertificateName) must name the intended certificate.
    type: list
    elements: str
    default: []
  receive_connectors:
    description:
      - Receive connectors (C(SERVER\\Name) or the name on this server) whose C(TlsCertificateName) must name it.
      - C(%COMPUTERNAME%) in a name (of a receive or send connector) stands for the computer name the read returned,
        so that one list fits every server, for example C(Default Frontend %COMPUTERNAME%).
    type: list
    elements: str
    default: []
  hybrid_configuration:
    description: Whether the hybrid configuration's C(TlsCertificateName) must name it.
    type: bool
    default: false
  iis_bindings:
    description: IIS https bindings, as C(site:port), that must use it.
    type: list
    elements: str
    default: []
  duplicates:
    description:
      - C(remove) keeps one valid certificate per issuer and subject (the intended one, else the one Exchange should
        use) and removes the others after backing them up; C(report) only reports them.
    type: str
    choices: [remove, report]
    default: remove
  replace_internal_transport_certificate:
    description:
      - When the plan enables SMTP on the intended certificate, also make it the internal transport (default SMTP)
        certificate, which Exchange servers use between themselves (C(Enable-ExchangeCertificate -Force)).
      - C(false) replaces it only when the current internal transport certificate is being removed as a duplicate or
        is no longer in C(LocalMachine\\My). Either way the step says so, and C(--diff) shows it.
    type: bool
    default: false
  restart_services:
    description:
      - A Windows service loads its certificate and builds its chain when it starts, and presents them until it
        restarts, so a new intermediate, another certificate enabled or a moved binding reaches the wire only after
        C(MSExchangeFrontEndTransport) and C(MSExchangeTransport) (SMTP) or C(W3SVC) (IIS) restart.
      - C(never) restarts nothing; when the change made needs a restart, the result's C(findings_after) holds the
        warning C(restart_needed) naming the services, and M(certwarden.exchange.smtp_tls_probe) reports
        C(restart_pending) (an error) until they restart.
      - C(when_needed) adds a C(restart_service) step per service whose presented certificate or chain the plan
        changes, after every other step.
      - C(always) restarts every service that presents a certificate on each apply, even when nothing else changes
        (for a wire that disagrees with the store, C(restart_pending) from M(certwarden.exchange.smtp_tls_probe)).
      - Never in check mode; the restarts show in C(plan) and in C(--diff).
    type: str
    choices: [never, when_needed, always]
    default: never
  retire:
    description:
      - Thumbprints of certificates that must no longer be in C(LocalMachine\\My), typically the old certificate
        after a renewal that changed the subject or issuer (it is not a duplicate of the new one, so O(duplicates)
        does not remove it). Normalised like O(certificate.thumbprint); naming the intended certificate is an error.
      - Each one is backed up and removed after the plan's other steps, and only when nothing binds it then (no
        connector or hybrid configuration naming it, no IIS binding, not the internal transport certificate, no
        Exchange service the intended certificate lacks). One still bound is kept and reported as
        C(retired_certificate_bound) with the reasons; one already gone needs nothing.
    type: list
    elements: str
    default: []
  expiry_warning_days:
    description: A bound certificate that expires within this many days is reported as C(expiring_soon).
    type: int
    default: 30
  staged:
    description:
      - Thumbprints of certificates that must already be in C(LocalMachine\\My) for a coming renewal (present, with
        a private key, valid for O(expiry_warning_days) more days, their chain complete (with O(chain))).
      - Judged on the same read as everything else (no extra WinRM command) and added to RV(findings) with
        C(evidence.staged) set to the thumbprint; they never add a step to the plan.
      - Normalised like O(certificate.thumbprint).
    type: list
    elements: str
    default: []
  probes:
    description:
      - Endpoints of this server to probe from the controller after the read, the way
        M(certwarden.exchange.smtp_tls_probe) does, in the same task (no WinRM command, no Exchange load).
      - Each probe expects O(certificate.thumbprint) and compares the wire with what the store would present for its
        protocol (RV(presentation)), so a right store with a service that has not restarted is C(restart_pending).
      - Their results are in RV(probes), in the order given; their findings are not added to RV(findings).
      - A probe that cannot reach its endpoint is a failed entry in RV(probes); the task still returns the check.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: The name or IP address to connect to.
        type: str
        required: true
      port:
        description: The TCP port.
        type: int
        required: true
      tls:
        description: As M(certwarden.exchange.smtp_tls_probe)'s C(tls) (C(https) probes the IIS binding).
        type: str
        choices: [starttls, implicit, https]
        default: starttls
      server_name:
        description: The name sent as SNI and checked against the certificate's names. Defaults to O(probes[].host).
        type: str
      ca_bundle:
        description: A PEM file with the trusted roots. Defaults to the system's CA bundle.
        type: path
      timeout:
        description: Seconds for the whole dialogue, connect to handshake.
        type: int
        default: 10
  insecure_channel:
    description:
      - What to do when a PFX, its password or the backup password would travel to the server over plain HTTP
        without message encryption, or over HTTPS with C(ansible_winrm_server_cert_validation=ignore).
      - V(warn) applies and warns once per host; V(fail) stops before the apply, nothing changed.
      - Check mode sends no secret, so it never warns.
    type: str
    choices: [warn, fail]
    default: warn
  backup:
    description: Where removed certificates are kept.
    type: dict
    default: {}
    suboptions:
      remote_directory:
        description:
          - Folder on the server; created with an ACL of Administrators and SYSTEM only.
          - An existing folder is used only if it is already restricted that way (inheritance disabled, no other
            allow rule), is not below a junction or symbolic link, and is owned by Administrators, SYSTEM,
            TrustedInstaller or the account the agent runs as; otherwise the whole plan is refused
            (C(backup_folder_refused)) and nothing changes.
        type: str
        default: C:\ProgramData\certwarden\backup
      local_directory:
        description:
          - Folder on the controller where a copy of every backup is written (mode 0600), in a subfolder per host.
          - Omit to keep backups on the server only.
        type: path
      password:
        description:
          - Password protecting backups that carry a private key (PFX, AES256-SHA256).
          - Without it, or where the key is not exportable, only the public certificate (DER) could be kept, so a
            copy that has a private key is not removed (its key would be lost) unless O(backup.certificate_only)
            is true; the finding says why it was kept.
        type: str
      certificate_only:
        description:
          - Allow removing a copy that has a private key with a certificate-only (DER) backup, when there is no
            O(backup.password), the key is not exportable, or whether it is exportable could not be read. The private
            key is then destroyed.
        type: bool
        default: false
notes:
  - Exchange names a send connector's certificate only by issuer and subject, so two certificates with the same
    issuer and subject let Exchange present either (C(TLS negotiation failed with error NoCredentials)).
  - Removal uses the certificate store directly, because C(Remove-ExchangeCertificate) refuses both copies of a
    duplicate that a connector names.
seealso:
  - module: certwarden.exchange.cert_facts
  - module: certwarden.exchange.cert_restore
  - module: certwarden.exchange.smtp_tls_probe
"""

EXAMPLES = r"""
- name: Nightly compliance check (report only)
  certwarden.exchange.cert_compliance:
    certificate:
      thumbprint: "{{ certwarden_intended_thumbprint }}"
    send_connectors:
      - Outbound to Office 365
    receive_connectors:
      - Default Frontend %COMPUTERNAME%
    hybrid_configuration: true
  check_mode: true
  register: compliance

- name: Roll out a renewed certificate and retire the old copy
  certwarden.exchange.cert_compliance:
    certificate:
      pfx: files/mail.contoso.com-2027.pfx
      password: "{{ vault_pfx_password }}"
    chain: files/issuing-chain.pem
    services: [SMTP, IIS]
    send_connectors: [Outbound to Office 365]
    hybrid_configuration: true
    backup:
      local_directory: "{{ playbook_dir }}/backups"
      password: "{{ vault_backup_password }}"

- name: Store-wide hygiene only (duplicates, expiry, chains), no intended certificate
  certwarden.exchange.cert_compliance:
    duplicates: report
"""

RETURN = r"""
compliant:
  description: True when no error-severity finding remains (after the change, when one was made).
  returned: always
  type: bool
findings:
  description:
    - Every difference from the desired state found by the first read. See docs/findings.md for the codes.
    - A certificate named in O(retire) that is still present is reported as C(retired_certificate_present) (fix
      C(remove)) or, when something still binds it, C(retired_certificate_bound) (fix null, evidence C(bound_by)).
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: Stable snake_case code, for example C(duplicate_certificate).
      type: str
    severity:
      description: C(error) or C(warning).
      type: str
    message:
      description: What is wrong, in the host's own names.
      type: str
    evidence:
      description: Thumbprints, names and connectors that show it.
      type: dict
    fix:
      description: The plan step action that fixes it, or null when only a person can.
      type: str
plan:
  description: The ordered steps that make the server compliant (what check mode would apply). Secrets are masked.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Position in the plan, from 1.
      type: int
    action:
      description: One of the agent's primitive steps (install_intermediate, import_pfx, enable_services, set_connector, backup, remove, ...).
      type: str
    params:
      description: The step's values (certificate blobs shortened, passwords masked).
      type: dict
    reason:
      description: The finding this step fixes.
      type: str
applied:
  description: The result of every step sent to the server, in order.
  returned: when changes were applied
  type: list
  elements: dict
backups:
  description: One entry per certificate backed up before removal (duplicates and certificates named in O(retire)).
  returned: when changes were applied
  type: list
  elements: dict
  contains:
    thumbprint:
      description: The certificate backed up.
      type: str
    store:
      description: The store it was removed from.
      type: str
    kind:
      description: C(pfx) (certificate and private key) or C(der) (public certificate only).
      type: str
    remote_path:
      description: The backup file on the server.
      type: str
    local_path:
      description: The copy on the controller, when O(backup.local_directory) is set.
      type: str
    sha256:
      description: SHA-256 of the backup file, checked on both ends.
      type: str
presentation:
  description:
    - Per protocol (C(SMTP), C(IIS)), what the service would present if it started now, from the store
      (C(certificate), C(chain), C(complete)); after a change, from the verifying read.
  returned: when the read succeeded and nothing blocked the plan
  type: dict
probes:
  description:
    - One result per entry of O(probes), in order, each as M(certwarden.exchange.smtp_tls_probe) returns it
      (C(endpoint), C(protocol), C(chain), C(stored), C(findings), C(compliant), ...) with C(failed) false, or
      C(failed) true, C(msg) and C(endpoint) when the endpoint could not be probed.
  returned: when O(probes) is given and the read succeeded
  type: list
  elements: dict
findings_after:
  description: The findings of the verifying read after the change.
  returned: when changes were applied
  type: list
  elements: dict
host:
  description: The server's computer name and FQDN as it reports them.
  returned: always
  type: dict
certificates:
  description: Summary of the certificates in C(My) (thumbprint, subject, issuer, not_after, days_to_expiry, services), for reports.
  returned: always
  type: list
  elements: dict
"""
