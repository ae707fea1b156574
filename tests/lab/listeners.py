"""Each simulated server's SMTP (STARTTLS) and HTTPS listeners, and the services behind them.

A service loads its credential (certificate, key and chain) when it starts,
and keeps presenting it until it restarts, as SChannel does for Exchange's
transport services and IIS (docs/lab.md). The lab server process "boots"
every host when it starts: each service starts then. ``restart_service``
(the agent's step) starts it again from the stores as they are now.

Listeners cost two listening sockets per host; connections are served on
short-lived threads, so an idle fleet costs no threads. The services of a host
load their credentials lazily, at the first of: a connection to a listener, an
``apply`` (before its first step changes anything), a restart. Until then the
stores are as they were at boot (only a hand edit of the folder can change
them), so the result is the same as loading at boot, without a fleet of 1,000
hosts paying for it when it starts.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import sys
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.lab.presenting import HUB_SERVICE, IIS_SERVICE, SERVICES, SMTP_SERVICE, Credential, credential_for
from tests.lab.state import HostState, read_json, write_bytes_atomic, write_json

UTC = dt.UTC
SERVICES_FILE = "services.json"
_IDLE_SECONDS = 30.0
_MAX_LINE = 2048
_MAX_COMMANDS = 50


class LoadedService:
    """One running service: what it loaded at start, as a ready TLS context (None: nothing to present)."""

    def __init__(self, credential: Credential, context: ssl.SSLContext | None, started_utc: str) -> None:
        self.credential = credential
        self.context = context
        self.started_utc = started_utc


def _now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def _context(run_dir: Path, name: str, credential: Credential) -> ssl.SSLContext | None:
    if credential.leaf is None:
        return None
    pem = b"".join(
        c.cert.public_bytes(serialization.Encoding.PEM) for c in (credential.leaf, *credential.intermediates)
    )
    chain_file = run_dir / f"{name}.pem"
    write_bytes_atomic(chain_file, pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(chain_file, credential.leaf.key_path)
    except ssl.SSLError:
        return None  # a key that is not the certificate's (a twin's stand-in): the service cannot present it
    return context


class HostServices:
    """The services and listeners of one host."""

    def __init__(self, host_dir: Path) -> None:
        self.host_dir = host_dir
        self.run_dir = host_dir.parent.parent / "run" / host_dir.name
        self.record = self.run_dir / SERVICES_FILE
        self.lock = threading.Lock()
        self.loaded: dict[str, LoadedService] = {}
        self.smtp = _listen()
        self.https = _listen()

    @property
    def ports(self) -> dict[str, int]:
        return {"smtp_port": self.smtp.getsockname()[1], "https_port": self.https.getsockname()[1]}

    def start(self, service: str) -> LoadedService:
        """(Re)start ``service``: load the credential from the stores as they are now."""
        host = HostState(self.host_dir)
        now = _now()
        credential = credential_for(host, service, now)
        loaded = LoadedService(credential, _context(self.run_dir, service, credential), now.isoformat())
        with self.lock:
            self.loaded[service] = loaded
            record = read_json(self.record, {}) or {}
            record[service] = credential.describe(loaded.started_utc)
            write_json(self.record, record)
        return loaded

    def boot(self) -> None:
        """Load every service not loaded yet: what it would have loaded when the machine booted."""
        for name in SERVICES:
            self.service(name)

    def service(self, name: str) -> LoadedService:
        with self.lock:
            loaded = self.loaded.get(name)
        return loaded if loaded is not None else self.start(name)

    def close(self) -> None:
        for sock in (self.smtp, self.https):
            sock.close()


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    return sock


# The services of every host this process serves, by resolved host folder: the agent's
# restart_service step runs in the same process and restarts them here.
_RUNNING: dict[Path, HostServices] = {}


def register(services: HostServices) -> None:
    _RUNNING[services.host_dir.resolve()] = services


def restart(host_dir: Path, service: str) -> dict[str, Any]:
    """Restart ``service`` of the host in ``host_dir``; returns what it loaded."""
    if service not in SERVICES:
        raise ValueError(service)
    services = _RUNNING.get(host_dir.resolve())
    if services is None:  # listeners off: nothing listens, nothing to reload
        now = _now()
        return credential_for(HostState(host_dir), service, now).describe(now.isoformat())
    services.boot()
    return services.start(service).credential.describe(services.loaded[service].started_utc)


def before_change(host_dir: Path) -> None:
    """An apply is about to change the host: services not loaded yet load what the machine booted with."""
    services = _RUNNING.get(host_dir.resolve())
    if services is not None:
        services.boot()


def accept(services: HostServices, listener: socket.socket) -> None:
    """Accept one connection on ``listener`` and serve it on its own thread."""
    try:
        conn, _address = listener.accept()
    except (BlockingIOError, OSError):
        return
    conn.setblocking(True)
    conn.settimeout(_IDLE_SECONDS)
    target = _serve_smtp if listener is services.smtp else _serve_https
    threading.Thread(target=_guarded, args=(target, services, conn), daemon=True).start()


def _guarded(target: Any, services: HostServices, conn: socket.socket) -> None:
    try:
        target(services, conn)
    except (OSError, ssl.SSLError, ValueError):
        pass
    except Exception as exc:  # a lab bug must show in lab.log, not kill the thread silently
        print(f"lab: listener of {services.host_dir.name}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    finally:
        conn.close()


def _serve_https(services: HostServices, conn: socket.socket) -> None:
    loaded = services.service(IIS_SERVICE)
    if loaded.context is None:
        return  # http.sys has no usable certificate for the binding: the handshake fails
    tls = loaded.context.wrap_socket(conn, server_side=True)
    request = b""
    while b"\r\n\r\n" not in request and len(request) < 8192:
        chunk = tls.recv(4096)
        if not chunk:
            return
        request += chunk
    tls.sendall(b"HTTP/1.1 302 Found\r\nLocation: /owa/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


class _Lines:
    def __init__(self, conn: socket.socket | ssl.SSLSocket) -> None:
        self.conn = conn
        self.buffer = b""

    def line(self) -> bytes | None:
        while b"\n" not in self.buffer:
            if len(self.buffer) > _MAX_LINE:
                return None
            chunk = self.conn.recv(1024)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.rstrip(b"\r")


def _serve_smtp(services: HostServices, conn: socket.socket) -> None:
    loaded = services.service(SMTP_SERVICE)
    services.service(HUB_SERVICE)
    fqdn = str(read_json(services.host_dir / "host.json", {}).get("fqdn") or "localhost")
    stamp = _now().strftime("%a, %d %b %Y %H:%M:%S +0000")
    channel: socket.socket | ssl.SSLSocket = conn
    channel.sendall(f"220 {fqdn} Microsoft ESMTP MAIL Service ready at {stamp}\r\n".encode())
    lines = _Lines(channel)
    secured = False
    for _command in range(_MAX_COMMANDS):
        raw = lines.line()
        if raw is None:
            return
        verb = raw.decode("ascii", errors="replace").strip().split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            offer = [] if secured or loaded.context is None or verb == "HELO" else ["STARTTLS"]
            extensions = ["SIZE 37748736", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", *offer, "8BITMIME", "CHUNKING"]
            reply = [f"{fqdn} Hello [127.0.0.1]", *extensions] if verb == "EHLO" else [f"{fqdn} Hello [127.0.0.1]"]
            channel.sendall(
                "".join(f"250{' ' if i == len(reply) - 1 else '-'}{t}\r\n" for i, t in enumerate(reply)).encode()
            )
        elif verb == "STARTTLS" and not secured and loaded.context is not None:
            if lines.buffer:
                channel.sendall(b"554 5.5.1 Commands pipelined after STARTTLS\r\n")
                return
            channel.sendall(b"220 2.0.0 SMTP server ready\r\n")
            channel = loaded.context.wrap_socket(conn, server_side=True)
            lines = _Lines(channel)
            secured = True
        elif verb == "QUIT":
            channel.sendall(b"221 2.0.0 Service closing transmission channel\r\n")
            return
        elif verb in ("NOOP", "RSET"):
            channel.sendall(b"250 2.0.0 OK\r\n")
        else:
            channel.sendall(b"500 5.3.3 Unrecognized command\r\n")
