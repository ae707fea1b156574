"""The authentication gate of a lab host's WS-Man handler: who may send a request on this connection, and its log.

winrm_auth.py decides per connection; this mixin answers the 401 legs, unseals
an encrypted body (winrm_crypto.py) and adds the logon to every request-log line.
"""

from __future__ import annotations

import ssl
from typing import Any

from spnego.exceptions import SpnegoError

from tests.lab.faults import Faults
from tests.lab.winrm_auth import ConnectionAuth, Verdict
from tests.lab.winrm_crypto import EncryptionError, decrypt, is_encrypted


class AuthGate:
    """Mixed into the handler, which provides ``server``, ``headers`` and ``_reply``."""

    server: Any
    headers: Any
    gate: ConnectionAuth
    pending_headers: dict[str, str]
    sealed: bool

    def _reply(self, status: int, body: bytes, extra_headers: dict[str, str] | None = None) -> None: ...

    def _admit(self, body: bytes, faults: Faults) -> bytes | None:
        """The request's SOAP envelope when the connection may proceed; otherwise answers and returns None."""
        self.pending_headers = {}
        self.sealed = False
        if faults.raw.get("refuse_auth"):
            faults.fired()
            verdict: Verdict = self.gate.challenge("refused", "refuse_auth fault")
        else:
            verdict = self.gate.admit(self.headers.get("Authorization", ""))
        if verdict.status != 200:
            self.server.log_request_event(
                "unauthorized", None, None, len(body), mechanism=verdict.attempted, reason=verdict.reason
            )
            self._reply(verdict.status, b"", verdict.headers)
            return None
        self.pending_headers = verdict.headers
        self.sealed = is_encrypted(self.headers.get("Content-Type", ""))
        if self.sealed:
            if self.gate.sealer is None:
                self._reply(400, b"")
                return None
            try:
                body = decrypt(body, self.gate.sealer)
            except (EncryptionError, SpnegoError, ssl.SSLError, ValueError) as exc:  # does not unseal: 400
                self.server.log_request_event("undecryptable", None, None, len(body), reason=str(exc)[:200])
                self.sealed = False
                self._reply(400, b"")
                return None
        if not body:  # the empty POST that opens an authenticated (and encrypting) connection
            self._reply(200, b"")
            return None
        if not self.sealed and self.server.ssl_context is None and not self.server.auth_settings.allow_unencrypted:
            # AllowUnencrypted = false (Windows' default): a plain body over HTTP is refused with a 500
            # (field reports in docs/lab.md, "How a listener decides"); nothing runs.
            self.server.log_request_event("unencrypted_refused", None, None, len(body), **self.logon_fields)
            self._reply(500, b"")
            return None
        return body

    def _log_event(self, action: str, shell_id: str | None, command: Any, size: int, **extra: Any) -> None:
        self.server.log_request_event(action, shell_id, command, size, **self.logon_fields, **extra)

    @property
    def logon_fields(self) -> dict[str, Any]:
        logon = self.gate.logon
        if logon is None:
            return {}
        return {"mechanism": logon.mechanism, "can_delegate": logon.can_delegate, "encrypted": self.sealed}

    def _logon_can_delegate(self) -> bool:
        return bool(self.gate.logon and self.gate.logon.can_delegate)
