"""Talk to a mail server and capture the certificate chain it sends.

This is the only part of ``smtp_tls_probe`` that touches the network. It
speaks just enough SMTP (banner, EHLO, STARTTLS) to reach the TLS handshake,
then records every certificate the server sent, in the order it sent them.

Verification is off on purpose: the point is to see what the server presents,
broken or not; judging it is :mod:`tls_probe`'s job. Python 3.11's ``ssl``
module does not expose the peer's chain, so the handshake is done with
pyOpenSSL (``get_peer_cert_chain``).
"""

from __future__ import annotations

import ipaddress
import select
import socket
import time
from dataclasses import dataclass, field
from functools import cache

from cryptography import x509
from OpenSSL import SSL

# An SMTP reply line is at most 512 octets (RFC 5321 4.5.3.1.5); allow slack
# for servers that ignore it, but never read without bound.
_MAX_REPLY_BYTES = 64 * 1024


@cache
def controller_fqdn() -> str:
    """The name this controller says in EHLO unless told another: looked up once per process.

    ``socket.getfqdn`` asks the resolver (a reverse lookup), which on a controller with slow or broken
    DNS can take seconds; it is done once in Ansible's main process (warm_up.warm_probes), not per task.
    """
    return socket.getfqdn() or "localhost"


class ProbeError(Exception):
    """The probe could not reach the point of seeing a certificate."""


@dataclass
class WireResult:
    """What was seen on the wire: the SMTP dialogue and the TLS session."""

    banner: str = ""
    ehlo_lines: list[str] = field(default_factory=list)
    starttls_offered: bool | None = None
    tls_version: str | None = None
    cipher: str | None = None
    chain: list[x509.Certificate] = field(default_factory=list)


class _SmtpReader:
    """Reads SMTP replies from a plain socket, with an overall deadline."""

    def __init__(self, sock: socket.socket, deadline: float, where: str) -> None:
        self._sock = sock
        self._deadline = deadline
        self._where = where
        self._buffer = b""

    def reply(self) -> tuple[int, list[str]]:
        """One (possibly multi-line) reply: its code and its text lines."""
        lines: list[str] = []
        while True:
            line = self._line()
            if len(line) < 3 or not line[:3].isdigit():
                raise ProbeError(f"{self._where} answered something that is not SMTP: {line[:80]!r}")
            lines.append(line[4:])
            if len(line) == 3 or line[3] != "-":
                return int(line[:3]), lines

    def pending(self) -> bytes:
        return self._buffer

    def _line(self) -> str:
        while b"\n" not in self._buffer:
            if len(self._buffer) > _MAX_REPLY_BYTES:
                raise ProbeError(f"{self._where} sent an SMTP reply longer than {_MAX_REPLY_BYTES} bytes")
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise ProbeError(f"{self._where} did not answer in time")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(4096)
            except TimeoutError as error:
                raise ProbeError(f"{self._where} did not answer in time") from error
            if not chunk:
                raise ProbeError(f"{self._where} closed the connection during the SMTP dialogue")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", errors="replace")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _handshake(sock: socket.socket, server_name: str, deadline: float, where: str) -> SSL.Connection:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    # No verification: we want to see exactly what is sent, even when it is wrong.
    context.set_verify(SSL.VERIFY_NONE, lambda *_: True)
    connection = SSL.Connection(context, sock)
    if server_name and not _is_ip(server_name):
        connection.set_tlsext_host_name(server_name.encode("idna"))
    connection.set_connect_state()
    sock.setblocking(False)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProbeError(f"{where}: the TLS handshake did not finish in time")
        try:
            connection.do_handshake()
            return connection
        except SSL.WantReadError:
            select.select([sock], [], [], remaining)
        except SSL.WantWriteError:
            select.select([], [sock], [], remaining)
        except SSL.Error as error:
            raise ProbeError(f"{where}: the TLS handshake failed: {_ssl_error_text(error)}") from error


def _ssl_error_text(error: SSL.Error) -> str:
    parts = []
    for item in error.args[0] if error.args and isinstance(error.args[0], list) else []:
        parts.append(item[-1] if isinstance(item, tuple) else str(item))
    return ", ".join(parts) or str(error) or type(error).__name__


def _say_quit(connection: SSL.Connection) -> None:
    """Leave politely; a server that already hung up is no failure of the probe."""
    try:
        connection.send(b"QUIT\r\n")
        connection.shutdown()
    except (SSL.Error, OSError):
        pass


def probe(host: str, port: int, *, tls: str, server_name: str, helo_name: str, timeout: float) -> WireResult:
    """Connect, negotiate TLS (STARTTLS, implicit SMTPS or HTTPS) and capture the chain sent.

    Raises :class:`ProbeError` with a sentence naming ``host:port`` when the
    server cannot be reached or the dialogue breaks before the handshake. A
    server that does not offer STARTTLS is not an error: the result says so.
    """
    where = f"{host}:{port}"
    deadline = time.monotonic() + timeout
    result = WireResult()
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        raise ProbeError(f"could not connect to {where}: {error.strerror or error}") from error
    try:
        if tls == "starttls":
            reader = _SmtpReader(sock, deadline, where)
            code, lines = reader.reply()
            result.banner = "\n".join(lines)
            if code != 220:
                raise ProbeError(f"{where} refused the session: {code} {result.banner}")
            sock.sendall(f"EHLO {helo_name}\r\n".encode("ascii", errors="replace"))
            code, lines = reader.reply()
            if code != 250:
                raise ProbeError(f"{where} rejected EHLO {helo_name}: {code} {' '.join(lines)}")
            result.ehlo_lines = lines
            result.starttls_offered = any(line.split(" ")[0].upper() == "STARTTLS" for line in lines[1:])
            if not result.starttls_offered:
                sock.sendall(b"QUIT\r\n")
                return result
            sock.sendall(b"STARTTLS\r\n")
            code, lines = reader.reply()
            if code != 220:
                raise ProbeError(f"{where} offered STARTTLS but refused it: {code} {' '.join(lines)}")
            if reader.pending():
                # Data sent before the handshake would be injected into the TLS session.
                raise ProbeError(f"{where} sent data after its STARTTLS reply (a STARTTLS injection risk)")
        connection = _handshake(sock, server_name, deadline, where)
        chain = connection.get_peer_cert_chain(as_cryptography=True) or []
        result.chain = list(chain)
        result.tls_version = connection.get_protocol_version_name()
        result.cipher = connection.get_cipher_name()
        if tls == "implicit":
            # The banner comes over TLS (SMTPS); read it for the record, best effort. An HTTPS
            # server says nothing until asked, so ``https`` reads no banner.
            result.banner = _tls_banner(connection, sock, deadline)
        _say_quit(connection)
        return result
    except OSError as error:
        raise ProbeError(f"the connection to {where} failed: {error.strerror or error}") from error
    finally:
        sock.close()


def _tls_banner(connection: SSL.Connection, sock: socket.socket, deadline: float) -> str:
    data = b""
    while b"\n" not in data and len(data) < _MAX_REPLY_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            chunk = connection.recv(4096)
        except SSL.WantReadError:
            select.select([sock], [], [], remaining)
            continue
        except (SSL.Error, OSError):
            break
        if not chunk:
            break
        data += chunk
    first = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
    return first[4:] if len(first) > 3 and first[:3].isdigit() else first
