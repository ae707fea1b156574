# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load the certwarden engine once in the controller process, before any worker forks."""

from __future__ import annotations

DOCUMENTATION = r"""
name: preload
type: aggregate
short_description: Load the certwarden.exchange engine once, before Ansible forks its workers
version_added: 0.1.0
description:
  - Ansible runs every task of every host in a worker process forked from the controller process, and its
    collection loader compiles a collection's Python source on every import, with no bytecode cache. Each
    certwarden.exchange task would therefore compile the whole engine (about 25 files) and import cryptography
    again, in every worker.
  - This callback imports the action plugins and the engine when the playbook starts, in the controller process, so
    that every forked worker inherits them already loaded. It changes no output and no behaviour.
  - Enable it with C(callbacks_enabled = certwarden.exchange.preload) in C(ansible.cfg) (the repository's own
    ansible.cfg does) or C(ANSIBLE_CALLBACKS_ENABLED).
author:
  - certwarden.exchange developers (@certwarden)
requirements:
  - enabled in callbacks_enabled
"""

import importlib

from ansible.plugins.callback import CallbackBase

# What a worker would otherwise compile: the action plugins pull in the engine,
# the transport and cryptography.
_PRELOADED = tuple(
    f"ansible_collections.certwarden.exchange.plugins.action.{name}"
    for name in ("cert_compliance", "cert_facts", "cert_restore", "smtp_tls_probe", "protocol_log")
)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "certwarden.exchange.preload"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook: object) -> None:
        for name in _PRELOADED:
            try:
                importlib.import_module(name)
            except ImportError as error:  # a missing requirement is reported by the task itself
                self._display.vvv(f"certwarden preload: {name} not loaded: {error}")
