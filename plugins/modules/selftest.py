# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This file is documentation only: the action plugin of the same name does the work.

from __future__ import annotations

DOCUMENTATION = r"""
module: selftest
short_description: Check that certwarden can work on a Windows / Exchange server, and say why not
version_added: 0.2.0
description:
  - Runs the agent's C(read) once, timed, and reports what a first contact with a server must establish, as
    docs/windows.md lists it. The Windows build and the Windows PowerShell and .NET versions; the Exchange version
    and role; how the Exchange cmdlets were loaded and how long that took; which of the cmdlets certwarden calls the
    account's RBAC roles expose (a missing one is named with the role that grants it); whether the WinRM logon can
    delegate its credential; the WinRM quotas.
  - Changes nothing. Fails, naming each problem, when something would stop certwarden.
  - With O(bundle_directory), writes a support bundle to attach to an issue report, on the controller, readable by
    the owner only. It holds the report and the read result without certificate bytes, keys or passwords;
    thumbprints and names are kept.
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
  bundle_directory:
    description: Controller directory to write C(certwarden-selftest-<inventory_hostname>.json) into.
    type: path
seealso:
  - module: certwarden.exchange.cert_facts
"""

EXAMPLES = r"""
- name: Check every Exchange server and keep a support bundle of each
  certwarden.exchange.selftest:
    bundle_directory: "{{ playbook_dir }}/selftest-bundles"
"""

RETURN = r"""
selftest:
  description:
    - C(windows) (os, os_build, powershell_version, dotnet_release, fips_policy); C(exchange) (installed, role,
      version, loaded_by one of C(session), C(snapin), C(remote_credential), C(remote_delegated), load_seconds,
      cmdlets_available, cmdlets_missing as cmdlet and granted_by); C(logon) (user, user_sid,
      authentication_type, impersonation_level, can_delegate); C(winrm) (max_memory_per_shell_mb, max_envelope_size_kb); read_seconds;
      problems.
  returned: when the read succeeded
  type: dict
bundle:
  description: Path of the support bundle written on the controller.
  returned: when O(bundle_directory) is set
  type: str
"""
