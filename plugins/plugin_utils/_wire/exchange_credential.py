"""The credential the agent loads Exchange with, sent only inside the request on standard input.

Outside Edge Transport the agent opens a remote session to the server's own
``/PowerShell`` endpoint, which reads Active Directory as the caller. A WinRM
logon that cannot delegate (Basic, NTLM, Kerberos without delegation) cannot make
that second hop, so the agent needs the account's user name and password
(docs/windows.md). They come from the ``certwarden_exchange_credential`` variable
when it is set, else from the connection's own ``ansible_user`` and
``ansible_password``; with neither (Kerberos from a ticket cache, CredSSP
without a password) the agent connects without one, which works only when the
logon can delegate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleError

from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.connection_options import connection_option

VARIABLE = "certwarden_exchange_credential"
# Set on the connection object by the action plugin, read by run_agent.
_ATTRIBUTE = "_certwarden_exchange_credential"


def parse_variable(value: Any) -> dict[str, str] | None:
    """``{user, password}`` from the variable's value; a clear error naming the variable otherwise."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"user", "password"}:
        keys = sorted(value) if isinstance(value, Mapping) else type(value).__name__
        raise AnsibleError(f"variable {VARIABLE} must be a mapping with exactly 'user' and 'password', not {keys}")
    user, password = value["user"], value["password"]
    if not isinstance(user, str) or not user or not isinstance(password, str):
        raise AnsibleError(f"variable {VARIABLE}: 'user' must be a non-empty string and 'password' a string")
    return {"user": user, "password": password}


def remember(connection: Any, credential: dict[str, str] | None) -> None:
    """Keep the explicit credential with the task's connection (None: fall back to the connection's own)."""
    setattr(connection, _ATTRIBUTE, credential)


def _option(connection: Any, name: str) -> str | None:
    value = connection_option(connection, name)
    return value if isinstance(value, str) and value else None


def credential_for(connection: Any) -> dict[str, str] | None:
    """The explicit credential, else the connection's user and password (winrm and psrp both name them so)."""
    explicit = getattr(connection, _ATTRIBUTE, None)
    if explicit is not None:
        return dict(explicit)
    user, password = _option(connection, "remote_user"), _option(connection, "remote_password")
    if user is None or password is None:
        return None
    return {"user": user, "password": password}
