# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file is documentation only: the action plugin of the same name does the work.

from __future__ import annotations

DOCUMENTATION = r"""
module: report_merge
short_description: Merge the compliance reports of a sliced run into one report
version_added: 0.1.0
description:
  - Reads the C(report.json) that the certwarden.exchange.compliance_report callback wrote in each slice of a
    sliced run (AWX / Automation Controller job slicing, or one C(--limit) share of the inventory per runner) and
    writes one C(report.json), C(junit.xml) and C(report.html) for the whole fleet to O(dest).
  - The servers lists are joined and the summary is computed again from them, exactly as the callback computes it
    for one unsliced run; the run spans from the earliest start to the latest end.
  - A server found in two slices, a file that is not a certwarden report, or another C(schema_version) is an error
    naming the slice; nothing is written then.
author:
  - certwarden.exchange developers (@certwarden)
extends_documentation_fragment:
  - certwarden.exchange.attributes
  - certwarden.exchange.attributes.CONTROLLER
attributes:
  check_mode:
    support: full
    details: Reads and merges the slices, writes nothing.
  diff_mode:
    support: none
options:
  src:
    description: The slices' report folders (or their C(report.json) files), on the controller.
    type: list
    elements: path
    required: true
  dest:
    description: Folder the merged report is written to (created when missing).
    type: path
    required: true
  formats:
    description: Which files to write.
    type: list
    elements: str
    choices: [json, junit, html]
    default: [json, junit, html]
notes:
  - Run it on the controller, in a play on C(localhost); it never contacts a server.
seealso:
  - plugin: certwarden.exchange.compliance_report
    plugin_type: callback
"""

EXAMPLES = r"""
- name: Merge the three slices' reports into one
  certwarden.exchange.report_merge:
    src:
      - "{{ playbook_dir }}/reports/slice-1"
      - "{{ playbook_dir }}/reports/slice-2"
      - "{{ playbook_dir }}/reports/slice-3"
    dest: "{{ playbook_dir }}/reports/fleet"
"""

RETURN = r"""
dest:
  description: The folder the merged report was written to.
  returned: always
  type: str
files:
  description: The files written (none in check mode).
  returned: always
  type: list
  elements: str
summary:
  description: The merged report's C(summary) (servers per status, changed, servers per finding code).
  returned: always
  type: dict
"""
