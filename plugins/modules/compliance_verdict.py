# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file is documentation only: the action plugin of the same name does the work.

from __future__ import annotations

DOCUMENTATION = r"""
module: compliance_verdict
short_description: Show a server's drift in the play output and fail it at a severity threshold
version_added: 0.1.0
description:
  - Takes the registered results of M(certwarden.exchange.cert_compliance) (and of
    M(certwarden.exchange.smtp_tls_probe) or M(certwarden.exchange.protocol_log)) for one server and judges their
    findings against O(fail_on).
  - A server with a finding at or above O(fail_on) fails, with a one-line C(msg) naming its finding codes and a
    C(drift) list of one short line per error finding (thumbprints cut to 8 digits, distinguished names to their
    CN and O), shown at the default verbosity. A server that drifts below the threshold is C(changed) and shows
    the same lines; a compliant server is C(ok) and shows nothing.
  - It reads nothing from the server and changes nothing; the roles of this collection run it after their check.
author:
  - certwarden.exchange developers (@certwarden)
extends_documentation_fragment:
  - certwarden.exchange.attributes
  - certwarden.exchange.attributes.CONTROLLER
attributes:
  check_mode:
    support: full
    details: It only judges results already registered.
  diff_mode:
    support: none
options:
  results:
    description:
      - Registered results to judge. A result that was skipped or carries no C(findings) adds nothing; when a
        result applied changes, its C(findings_after) (the verifying read) are judged instead.
      - The results in a M(certwarden.exchange.cert_compliance) result's C(probes) are judged with it; a probe
        that could not see its endpoint fails the server whatever O(fail_on), naming the endpoint in C(msg).
    type: list
    elements: dict
    default: []
  registered:
    description:
      - Names of registered variables whose results are judged like those in O(results), read from the host's
        variables as they are, without templating them.
      - A check's result is large (findings with their evidence, certificates, the plan, the probes' chains);
        templating it into O(results) costs the controller more than the judgement itself, on every server.
      - A name the host has no variable for is an error naming it.
    type: list
    elements: str
    default: []
  fail_on:
    description:
      - C(error) fails the server on any error finding, C(warning) on any finding, C(never) only reports.
    type: str
    choices: [error, warning, never]
    default: error
  as_errors:
    description: Finding codes that count as errors here whatever their usual severity (a gate's C(expiring_soon)).
    type: list
    elements: str
    default: []
seealso:
  - module: certwarden.exchange.cert_compliance
"""

EXAMPLES = r"""
- name: Check the server (check mode)
  certwarden.exchange.cert_compliance:
    certificate:
      thumbprint: "{{ certwarden_intended_thumbprint }}"
  check_mode: true
  register: compliance
  failed_when: compliance.findings is not defined

- name: Fail the server when it drifts, naming every finding
  certwarden.exchange.compliance_verdict:
    registered: [compliance]
    fail_on: error

- name: The same, with the results given as values
  certwarden.exchange.compliance_verdict:
    results: ["{{ compliance }}"]
    fail_on: error
"""

RETURN = r"""
msg:
  description: One line, C(HOST drifts) and the finding codes, or C(HOST) and C(compliant).
  returned: always
  type: str
drift:
  description: One short line per error finding (per finding when O(fail_on=warning)), host, code and message.
  returned: always
  type: list
  elements: str
drifting:
  description: Whether the server has any finding at all.
  returned: always
  type: bool
"""
