"""Real SMTP servers on loopback for the TLS probe tests.

Two kinds, because the probe must work against more than one implementation:

* :class:`AiosmtpdServer`: aiosmtpd in a thread, STARTTLS (``tls_context``) or
  implicit TLS (``ssl_context``), or no TLS at all.
* :class:`PostfixInstance`: Debian's Postfix as a *private* instance: its own
  config directory (``postfix -c DIR start``), its own queue and data
  directories in a temporary folder, listeners on 127.0.0.1 only, one listener
  per certificate case (``-o smtpd_tls_chain_files=...`` per master.cf
  service). The system's default instance (``/etc/postfix``) is never used,
  started or stopped.

Certificates are written as PEM files: ``key + leaf + intermediates`` in one
file, which both servers load as the chain they send, in that order.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.support.pki import Issued

POSTFIX = "/usr/sbin/postfix"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_chain_pem(directory: Path, label: str, leaf: Issued, intermediates: Sequence[Issued] = ()) -> Path:
    """``label.pem``: the leaf's private key, the leaf, then the intermediates."""
    path = directory / f"{label}.pem"
    path.write_bytes(leaf.key_pem() + leaf.pem + b"".join(c.pem for c in intermediates))
    path.chmod(0o600)
    return path


def write_bundle(directory: Path, label: str, certificates: Sequence[Issued]) -> Path:
    """A PEM bundle of certificates only (a CA bundle for the probe)."""
    path = directory / f"{label}.pem"
    path.write_bytes(b"".join(c.pem for c in certificates))
    return path


def _server_context(chain_pem: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile=chain_pem)  # key, leaf and intermediates from one file
    return context


class _NullHandler:
    """Accepts nothing worth keeping; the probe never sends mail."""

    async def handle_DATA(self, server, session, envelope) -> str:
        return "250 OK"


@dataclass
class AiosmtpdServer:
    """An aiosmtpd server on 127.0.0.1 (``mode``: starttls, implicit or plain)."""

    chain_pem: Path | None
    mode: str = "starttls"
    hostname: str = "mail.contoso.com"
    port: int = 0
    _controller: Controller | None = field(default=None, repr=False)

    def start(self) -> AiosmtpdServer:
        self.port = free_port()
        smtp_kwargs: dict[str, object] = {}
        ssl_context = None
        if self.mode == "starttls":
            assert self.chain_pem is not None
            smtp_kwargs.update(tls_context=_server_context(self.chain_pem), require_starttls=False)
        elif self.mode == "implicit":
            assert self.chain_pem is not None
            ssl_context = _server_context(self.chain_pem)
        self._controller = Controller(
            _NullHandler(),
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=ssl_context,
            server_hostname=self.hostname,
            ready_timeout=10,
            **smtp_kwargs,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@contextlib.contextmanager
def aiosmtpd_server(chain_pem: Path | None, mode: str = "starttls") -> Iterator[AiosmtpdServer]:
    server = AiosmtpdServer(chain_pem, mode).start()
    try:
        yield server
    finally:
        server.stop()


# --- Postfix -----------------------------------------------------------------

_MASTER_CF_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


@dataclass(frozen=True)
class PostfixListener:
    """One smtpd listener: its name, the chain file it sends, and how it speaks TLS."""

    name: str
    chain_pem: Path | None  # None: STARTTLS not offered
    implicit: bool = False


def postfix_available() -> str | None:
    """None when Postfix can run here, else the reason it cannot (for pytest.skip)."""
    if not Path(POSTFIX).exists():
        return "Debian's postfix is not installed (make test installs it via tests/support/ensure-system-deps.sh)"
    if os.geteuid() != 0:
        return "a private Postfix instance must be started as root"
    return None


class PostfixInstance:
    """A private Postfix instance with one listener per certificate case.

    Everything lives in a world-traversable temporary directory because
    Postfix's daemons drop privileges to the ``postfix`` user and must reach
    their queue directory (pytest's tmp_path is private to root).
    """

    def __init__(self, listeners: Sequence[PostfixListener], hostname: str = "mail.contoso.com") -> None:
        self.listeners = list(listeners)
        self.hostname = hostname
        self.ports: dict[str, int] = {}
        self.root = Path(tempfile.mkdtemp(prefix="certwarden-postfix-"))
        self.root.chmod(0o755)
        self.config_dir = self.root / "etc"
        self._started = False

    def start(self) -> PostfixInstance:
        self.config_dir.mkdir(mode=0o755)
        for sub in ("queue", "data"):
            (self.root / sub).mkdir(mode=0o755)
        shutil.chown(self.root / "data", user="postfix", group="postfix")
        services = []
        for listener in self.listeners:
            port = free_port()
            self.ports[listener.name] = port
            options = []
            if listener.chain_pem is None:
                options.append("-o smtpd_tls_security_level=none")
            else:
                options.append(f"-o smtpd_tls_chain_files={listener.chain_pem}")
                if listener.implicit:
                    options.append("-o smtpd_tls_wrappermode=yes")
            services.append(f"127.0.0.1:{port} inet n - n - - smtpd\n  " + "\n  ".join(options))
        (self.config_dir / "master.cf").write_text("\n".join(services) + "\n" + _MASTER_CF_SERVICES)
        (self.config_dir / "main.cf").write_text(self._main_cf())
        self._postfix("check")
        self._postfix("start")
        self._started = True
        self._wait_until_listening()
        return self

    def _main_cf(self) -> str:
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.root / "queue"),
            "data_directory": str(self.root / "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": self.hostname,
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "smtpd_banner": "$myhostname ESMTP certwarden test instance",
            "smtpd_tls_security_level": "may",
            "smtpd_tls_loglevel": "0",
            # Postfix logs to syslog by default; there may be none here.
            "maillog_file": str(self.root / "maillog"),
            "maillog_file_prefixes": str(self.root),
            "biff": "no",
        }
        return "".join(f"{key} = {value}\n" for key, value in settings.items())

    def _postfix(self, command: str) -> None:
        completed = subprocess.run(
            [POSTFIX, "-c", str(self.config_dir), command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if completed.returncode != 0:
            log = (self.root / "maillog").read_text() if (self.root / "maillog").exists() else ""
            raise RuntimeError(
                f"postfix -c {self.config_dir} {command} failed ({completed.returncode}):\n"
                f"{completed.stdout}{completed.stderr}{log[-2000:]}"
            )

    def _wait_until_listening(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        for port in self.ports.values():
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"the private postfix instance did not listen on port {port}") from None
                    time.sleep(0.1)

    def stop(self) -> None:
        if self._started:
            self._started = False
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._postfix("stop")
        shutil.rmtree(self.root, ignore_errors=True)
