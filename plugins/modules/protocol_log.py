#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation stub: the work is done by the action plugin of the same name."""

from __future__ import annotations

DOCUMENTATION = r"""
module: protocol_log
short_description: Read Exchange SMTP protocol logs for the certificate each session presented and how TLS ended
version_added: 0.1.0
description:
  - Parses Exchange's SMTP send and receive protocol logs and returns, per session, the certificate sent
    (subject, issuer, serial, thumbprint, names) and the TLS result (C(success), C(NoCredentials),
    C(UnknownCredentials), C(UntrustedRoot) or C(other)).
  - Aggregates every failure into a C(tls_failure_logged) finding per connector and cause, with a count
    and the last time it was logged.
  - With O(src), reads log files on the controller (copied off a server). Without it, reads them on the
    server through the agent (C(read_logs)), then also reads the server's certificate store and Exchange
    configuration and says, for each presented thumbprint, whether it is a duplicate, has a private key and
    which services it is enabled for.
  - Both log formats are accepted - the older one-fact-per-line certificate lines and the newer single-line
    C(Sending certificate) form. Files are streamed line by line; a truncated last line is skipped and counted.
  - O(enable_verbose) turns on verbose protocol logging on connectors (off by default on send connectors),
    a diagnostic step; turn it back with O(disable_verbose) or C(Set-SendConnector X -ProtocolLoggingLevel None).
options:
  src:
    description:
      - A log file or a folder of C(*.log) files on the controller. When given, nothing runs on the host.
    type: path
  since:
    description:
      - Only files modified at or after this UTC time (ISO 8601, for example C(2026-11-27T00:00:00Z)).
        Used when reading on the server.
    type: str
  paths:
    description:
      - Log folders on the server. Defaults to the transport service's SendProtocolLogPath and
        ReceiveProtocolLogPath.
    type: list
    elements: str
  max_bytes:
    description:
      - At most this many bytes of logs are brought back from the server (oldest files dropped first).
      - They come in pages of at most 8 MB, one WinRM command each, so that no command nears the server's WinRM
        shell memory quota (C(MaxMemoryPerShellMB)); see docs/windows.md.
    type: int
    default: 50000000
  connectors:
    description: Only sessions of these connectors (names as they appear in the log; receive connectors as
      C(SERVER\Name)).
    type: list
    elements: str
    default: []
  keep_sessions:
    description:
      - Which sessions are listed in RV(sessions) (all are counted and aggregated).
      - C(tls) those that sent a certificate or failed; C(failed) only failures; C(all) every session.
    type: str
    choices: [tls, failed, all]
    default: tls
  max_sessions:
    description: List at most this many sessions (the latest); 0 lists all.
    type: int
    default: 200
  correlate:
    description: When reading on the server, also read its certificate store to explain each presented thumbprint.
    type: bool
    default: true
  enable_verbose:
    description:
      - Connectors (name or identity) whose ProtocolLoggingLevel is set to C(Verbose), as a diagnostic step.
        Reports C(changed); in check mode reports what would change and changes nothing.
      - Mutually exclusive with O(src).
    type: list
    elements: str
    default: []
  disable_verbose:
    description:
      - Connectors whose ProtocolLoggingLevel is set back to C(None).
      - Mutually exclusive with O(src).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - certwarden.exchange.attributes
  - certwarden.exchange.attributes.WINDOWS
attributes:
  check_mode:
    support: full
    details: Reading runs normally; O(enable_verbose) and O(disable_verbose) only report what they would change.
  diff_mode:
    support: none
seealso:
  - module: certwarden.exchange.smtp_tls_probe
author:
  - certwarden.exchange developers (@certwarden)
"""

EXAMPLES = r"""
- name: Why does the hybrid send connector fail? Read the last day of logs on the server
  certwarden.exchange.protocol_log:
    since: "{{ '%Y-%m-%dT%H:%M:%SZ' | strftime(now().timestamp() | int - 86400, utc=true) }}"
    connectors: ["Outbound to Office 365"]
  register: logs

- name: Logs copied off a server
  certwarden.exchange.protocol_log:
    src: "{{ playbook_dir }}/ex01-logs/SmtpSend"
  delegate_to: localhost

- name: Turn on verbose logging for the diagnosis (turn it back with disable_verbose)
  certwarden.exchange.protocol_log:
    enable_verbose: ["Outbound to Office 365"]
"""

RETURN = r"""
sessions:
  description: Sessions, oldest first (see O(keep_sessions), O(max_sessions)).
  returned: success
  type: list
  elements: dict
  contains:
    time: {description: "Time of the first record (UTC, as logged).", type: str}
    last_time: {description: Last record's time., type: str}
    direction: {description: C(send) or C(receive)., type: str}
    connector: {description: The connector id as logged., type: str}
    session_id: {description: Exchange's session id., type: str}
    local_endpoint: {description: ip:port., type: str}
    remote_endpoint: {description: ip:port., type: str}
    certificate: {description: "The certificate sent: subject, issuer, serial, thumbprint, sans (and not_before,
      not_after in the newer format); null when none was logged.", type: dict}
    tls_result: {description: "success, NoCredentials, UnknownCredentials, UntrustedRoot, other, or null when no
      TLS was attempted.", type: str}
    tls_error: {description: The failure text as logged., type: str}
    file: {description: The file the session came from., type: str}
sessions_total:
  description: Every session seen (after the O(connectors) filter).
  returned: success
  type: int
files:
  description: Each file read, with its log type and counts of records, truncated and malformed lines.
  returned: success
  type: list
  elements: dict
presented:
  description: Each (connector, thumbprint) seen presenting, with the last time.
  returned: success
  type: list
  elements: dict
correlation:
  description: When read on the server, a sentence per presented thumbprint about the host's copy of it.
  returned: success
  type: dict
findings:
  description: C(tls_failure_logged) per connector and cause (evidence connector, cause, count, last_time, thumbprints).
  returned: success
  type: list
  elements: dict
compliant:
  description: True when no failure was logged.
  returned: success
  type: bool
verbose_steps:
  description: The C(set_protocol_logging) steps planned (and applied unless in check mode).
  returned: when enable_verbose or disable_verbose is given
  type: list
  elements: dict
"""
