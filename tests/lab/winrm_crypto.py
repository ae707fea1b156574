"""WinRM message encryption on the server side: the ``multipart/encrypted`` body of [MS-WSMV] 2.2.9.1.

Over HTTP with NTLM, Kerberos or CredSSP, a WinRM client seals every SOAP
envelope with the session key of its authentication context and sends it as a
MIME body of two parts per sealed block:

    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/HTTP-SPNEGO-session-encrypted\\r\\n
    \\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plain length>\\r\\n
    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/octet-stream\\r\\n
    <uint32 little-endian header length><header><sealed bytes>
    --Encrypted Boundary--\\r\\n

For NTLM and Kerberos the header is the signature / GSS wrap token header; for
CredSSP the length field is the TLS trailer length and the rest is TLS records
(CredSSP bodies over 16 KiB arrive as ``multipart/x-multi-encrypted``, one pair
of parts per 16 KiB block). The server answers in the same form.
"""

from __future__ import annotations

import re
from typing import Protocol

BOUNDARY = b"--Encrypted Boundary"
SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CREDSSP_PROTOCOL = "application/HTTP-CredSSP-session-encrypted"
CREDSSP_BLOCK = 16384
_LENGTH = re.compile(rb"Length=(\d+)")


class EncryptionError(ValueError):
    """The body is not a well-formed WinRM encrypted message, or it does not decrypt."""


class Sealer(Protocol):
    """What an authenticated connection offers to seal and unseal one block (length field included)."""

    protocol: str

    def seal(self, data: bytes) -> bytes:
        """``<uint32 length field><header><sealed bytes>`` of one block."""

    def unseal(self, payload: bytes) -> bytes: ...


def is_encrypted(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind in ("multipart/encrypted", "multipart/x-multi-encrypted")


def _blocks(body: bytes) -> list[tuple[int, bytes]]:
    """(declared plain length, payload) per encrypted block of ``body``."""
    end = BOUNDARY + b"--\r\n"
    if not body.endswith(end):
        raise EncryptionError("the encrypted body does not end with the closing boundary")
    parts = [p for p in body[: -len(end)].split(BOUNDARY + b"\r\n") if p]
    if not parts or len(parts) % 2:
        raise EncryptionError(f"the encrypted body has {len(parts)} MIME parts, expected pairs")
    blocks = []
    for headers, payload in zip(parts[0::2], parts[1::2], strict=True):
        length = _LENGTH.search(headers)
        marker = b"\tContent-Type: application/octet-stream\r\n"
        if length is None or not payload.startswith(marker):
            raise EncryptionError("an encrypted part lacks its OriginalContent length or its octet-stream header")
        blocks.append((int(length.group(1)), payload[len(marker) :]))
    return blocks


def decrypt(body: bytes, sealer: Sealer) -> bytes:
    plain = b""
    for length, payload in _blocks(body):
        if len(payload) < 4:
            raise EncryptionError("an encrypted part is shorter than its length field")
        block = sealer.unseal(payload)
        if len(block) != length:
            raise EncryptionError(f"a block decrypted to {len(block)} bytes, its header says {length}")
        plain += block
    return plain


def encrypt(message: bytes, sealer: Sealer) -> tuple[bytes, str]:
    """The body and the Content-Type of ``message`` sealed for the client."""
    size = CREDSSP_BLOCK if sealer.protocol == CREDSSP_PROTOCOL else max(len(message), 1)
    chunks = [message[i : i + size] for i in range(0, len(message), size)] or [b""]
    kind = "multipart/x-multi-encrypted" if len(chunks) > 1 else "multipart/encrypted"
    body = b""
    for chunk in chunks:
        body += (
            BOUNDARY + b"\r\n\tContent-Type: " + sealer.protocol.encode() + b"\r\n"
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
            + str(len(chunk)).encode()
            + b"\r\n"
            + BOUNDARY
            + b"\r\n\tContent-Type: application/octet-stream\r\n"
            + sealer.seal(chunk)
        )
    body += BOUNDARY + b"--\r\n"
    return body, f'{kind};protocol="{sealer.protocol}";boundary="Encrypted Boundary"'
