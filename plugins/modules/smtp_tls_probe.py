#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation stub: the work is done by the action plugin of the same name."""

from __future__ import annotations

DOCUMENTATION = r"""
module: smtp_tls_probe
short_description: Capture and judge the certificate chain a mail server presents over SMTP
version_added: 0.1.0
description:
  - Connects to an SMTP server the way a peer does (banner, C(EHLO), C(STARTTLS)), or with implicit TLS,
    and records every certificate the server sent, in the order sent (leaf first).
  - The connection is made without verification so that a broken chain is still captured; the chain is
    then judged the way a strict peer such as Exchange Online does - from what the server SENT, never
    completed from this controller's own stores.
  - "Findings: C(wrong_certificate_presented), C(incomplete_chain), C(untrusted_root), C(expired),
    C(not_yet_valid), C(name_not_covered), C(starttls_not_offered), C(chain_invalid), C(restart_pending)."
  - Runs on the Ansible controller; it only reads, so check mode runs it normally.
options:
  host:
    description: The mail server's name or IP address.
    type: str
    required: true
  port:
    description: The TCP port.
    type: int
    default: 25
  tls:
    description:
      - C(starttls) speaks SMTP first and upgrades with STARTTLS (port 25 / 587).
      - C(implicit) starts TLS at once (port 465).
      - C(https) starts TLS at once and reads no SMTP banner (an IIS binding, port 443), to compare
        what IIS presents with what the SMTP service presents.
    type: str
    choices: [starttls, implicit, https]
    default: starttls
  server_name:
    description:
      - The name sent as SNI and checked against the certificate's names.
      - Defaults to O(host).
    type: str
  helo_name:
    description: The name given in C(EHLO). Defaults to the controller's FQDN.
    type: str
  expected_thumbprint:
    description:
      - The thumbprint of the certificate the server should present.
      - Copied thumbprints are normalised (invisible marks such as U+200E, spaces and colons removed,
        upper-cased); anything that is not 40 hexadecimal digits afterwards is an error.
    type: str
  ca_bundle:
    description:
      - A PEM file with the trusted roots (self-signed certificates). Other CA certificates in it are used
        only to name an intermediate the server failed to send, never as trust anchors.
      - Defaults to the system's CA bundle.
    type: path
  stored:
    description:
      - What the server's own store would present for this protocol, as M(certwarden.exchange.cert_compliance)
        returns it in C(presentation.SMTP) or C(presentation.IIS) (C(certificate), C(chain), C(complete)).
      - When the store holds the expected certificate with a complete chain but the wire shows another
        certificate or chain, the finding is C(restart_pending), since the service still presents what it loaded when it
        last started.
    type: dict
  timeout:
    description: Seconds for the whole dialogue, connect to handshake.
    type: int
    default: 10
extends_documentation_fragment:
  - certwarden.exchange.attributes
  - certwarden.exchange.attributes.CONTROLLER
attributes:
  check_mode:
    support: full
    details: The probe only reads; it runs normally in check mode.
  diff_mode:
    support: none
notes:
  - The chain is read with pyOpenSSL because Python 3.11's ssl module does not expose the peer's chain.
  - When the server sent intermediates but the top one's issuer is neither sent nor trusted, the finding
    is C(untrusted_root); if that issuer is in fact another intermediate, add it to O(ca_bundle) and the
    finding becomes C(incomplete_chain) naming it.
seealso:
  - module: certwarden.exchange.protocol_log
author:
  - certwarden.exchange developers (@certwarden)
"""

EXAMPLES = r"""
- name: What does the hybrid receive connector present to Exchange Online?
  certwarden.exchange.smtp_tls_probe:
    host: "{{ smtp_host }}"  # mail.contoso.com
    port: "{{ smtp_port }}"
    # Copied from the certificate dialog: the invisible U+200E and the spaces are removed.
    expected_thumbprint: "‎{{ certwarden_intended_thumbprint }}"
  register: probe

- name: Implicit TLS on another port, with our own roots
  certwarden.exchange.smtp_tls_probe:
    host: "{{ smtps_host }}"  # 192.0.2.25
    server_name: smtp.contoso.com
    port: "{{ smtps_port }}"  # 465
    tls: implicit
    ca_bundle: files/roots.pem
"""

RETURN = r"""
endpoint:
  description: C(host:port) probed.
  returned: success
  type: str
server_name:
  description: The name sent as SNI and checked.
  returned: success
  type: str
banner:
  description: The server's greeting (without the 220 code).
  returned: success
  type: str
  sample: mail.contoso.com Microsoft ESMTP MAIL Service ready
starttls_offered:
  description: Whether EHLO listed STARTTLS; null with implicit TLS.
  returned: success
  type: bool
tls_version:
  description: The negotiated protocol, for example C(TLSv1.2); null when no TLS was negotiated.
  returned: success
  type: str
cipher:
  description: The negotiated cipher suite.
  returned: success
  type: str
chain:
  description: Every certificate the server sent, in order, leaf first.
  returned: success
  type: list
  elements: dict
  contains:
    position: {description: 0 for the leaf., type: int}
    thumbprint: {description: "SHA-1 of the DER, upper-case hex.", type: str}
    subject: {description: Windows-style subject., type: str}
    issuer: {description: Windows-style issuer., type: str}
    serial: {description: "Serial number, hex.", type: str}
    not_before: {description: ISO 8601 UTC., type: str}
    not_after: {description: ISO 8601 UTC., type: str}
    sans: {description: DNS names and IP addresses., type: list, elements: str}
    is_ca: {description: Basic constraints CA flag., type: bool}
    is_self_signed: {description: Whether it is a self-signed (root) certificate., type: bool}
protocol:
  description: C(SMTP) or C(IIS) (for O(tls=https)).
  returned: success
  type: str
stored:
  description: O(stored) as normalised, to show beside RV(chain) (stored versus presented); null when not given.
  returned: success
  type: dict
findings:
  description: What is wrong, each with C(code), C(severity), C(message), C(evidence) and C(fix).
  returned: success
  type: list
  elements: dict
compliant:
  description: True when no finding has severity C(error).
  returned: success
  type: bool
"""
