"""Shared documentation of the modules' attributes."""

from __future__ import annotations


class ModuleDocFragment:
    # Every module here is carried out by an action plugin on the controller.
    DOCUMENTATION = r"""
options: {}
attributes:
  action:
    description: The work is done by an action plugin on the controller; only the C(read) and C(apply) agent calls
      run on the Windows host, through the task's own connection.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description: Forces a 'global' task that does not execute per host.
    support: none
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
"""

    # For modules that read or change a Windows / Exchange server through the agent.
    WINDOWS = r"""
options: {}
attributes:
  platform:
    description: Windows Server with Windows PowerShell 5.1, optionally Exchange Server 2016 / 2019 / SE.
    support: full
    platforms: windows
"""

    # For modules that run entirely on the controller (or where delegated).
    CONTROLLER = r"""
options: {}
attributes:
  platform:
    description: Runs on the Ansible controller, or wherever the task is delegated.
    support: full
    platforms: posix
"""
