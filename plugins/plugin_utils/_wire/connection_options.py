"""Reading the task connection's own settings, for the plugins (winrm, psrp) that define them."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleError


def connection_option(connection: Any, name: str) -> Any:
    """The connection's option ``name``, or None where the connection plugin has no such option.

    ansible-core raises KeyError for an option the plugin does not define (AnsibleError from older
    configuration look-ups); a connection object without ``get_option`` has none at all.
    """
    try:
        return connection.get_option(name)
    except (KeyError, AttributeError, AnsibleError):
        return None
