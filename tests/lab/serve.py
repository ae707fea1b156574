"""The lab server process: every simulated host of a lab, one port each, in one process.

One selector thread watches every listening socket and hands each accepted
connection to a thread (ThreadingHTTPServer), so a thousand hosts cost a
thousand sockets, not a thousand polling threads.
"""

from __future__ import annotations

import os
import selectors
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import spnego.tls

from tests.lab import kdc
from tests.lab.listeners import HostServices, accept, register
from tests.lab.state import read_json, write_json
from tests.lab.transports import ntlm_user_file
from tests.lab.wsman import HostEndpoint


def _ssl_context(lab_dir: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(lab_dir / "tls" / "server.pem", lab_dir / "tls" / "server.key")
    return context


def _credssp_tls(lab_dir: Path) -> spnego.tls.CredSSPTLSContext:
    """CredSSP's own TLS channel (inside HTTP), with the lab's server certificate as a Windows host uses its own."""
    tls = spnego.tls.default_tls_context(usage="accept")
    tls.context.load_cert_chain(lab_dir / "tls" / "server.pem", lab_dir / "tls" / "server.key")
    tls.public_key = spnego.tls.get_certificate_public_key(_certificate_der(lab_dir))
    return tls


def _certificate_der(lab_dir: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert((lab_dir / "tls" / "server.pem").read_text(encoding="ascii"))


def _acceptor_environment(lab_dir: Path) -> None:
    """Where pyspnego's acceptors find the lab's accounts: NTLM_USER_FILE, and the keytab for Kerberos."""
    users = ntlm_user_file(lab_dir)
    if users.exists():
        os.environ["NTLM_USER_FILE"] = str(users)
    files = kdc.kdc_files(lab_dir)
    if files.keytab.exists():
        os.environ.update(files.environment())
        os.environ["KRB5_KTNAME"] = f"FILE:{files.keytab}"


def _start_kdc(lab_dir: Path, lab: dict) -> subprocess.Popen[bytes] | None:
    """The lab's KDC, a child of this process (stopped with it); its start time goes to lab.json."""
    files = kdc.kdc_files(lab_dir)
    if not files.keytab.exists():
        return None
    started = time.monotonic()
    process = kdc.start(files, lab_dir / "kdc.log")
    lab["kdc"] = {"port": int(files.port_file.read_text()), "start_seconds": round(time.monotonic() - started, 3)}
    return process


def _boot(host_dir: Path) -> HostServices:
    """Bind the host's SMTP and HTTPS listeners; its services load their credentials lazily (listeners.py)."""
    services = HostServices(host_dir)
    register(services)
    return services


def serve(lab_dir: Path) -> None:
    """Bind every host, publish the ports in lab.json and host.json, then serve until SIGTERM."""
    lab = read_json(lab_dir / "lab.json")
    has_tls = (lab_dir / "tls" / "server.pem").exists()
    context = _ssl_context(lab_dir) if any(h.get("scheme") == "https" for h in lab["hosts"]) else None
    credssp = _credssp_tls(lab_dir) if has_tls else None
    certificate_der = _certificate_der(lab_dir) if has_tls else None
    _acceptor_environment(lab_dir)
    kdc_process = _start_kdc(lab_dir, lab)
    endpoints: list[HostEndpoint] = []
    listeners: list[HostServices] = []
    for entry in lab["hosts"]:
        host_dir = lab_dir / "hosts" / entry["name"]
        endpoint = HostEndpoint(
            host_dir,
            context if entry.get("scheme") == "https" else None,
            certificate_der=certificate_der,
            credssp_tls=credssp,
        )
        endpoints.append(endpoint)
        entry["port"] = endpoint.server_address[1]
        info = read_json(host_dir / "host.json")
        info["port"] = entry["port"]
        if lab.get("listeners", True):
            listeners.append(_boot(host_dir))
            info.update(listeners[-1].ports)
            entry.update(listeners[-1].ports)
        write_json(host_dir / "host.json", info)
    lab["pid"] = os.getpid()
    write_json(lab_dir / "lab.json", lab)
    (lab_dir / "lab.pid").write_text(f"{os.getpid()}\n")

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    selector = selectors.DefaultSelector()
    for endpoint in endpoints:
        endpoint.socket.setblocking(False)
        selector.register(endpoint.socket, selectors.EVENT_READ, endpoint)
    for services in listeners:
        selector.register(services.smtp, selectors.EVENT_READ, services)
        selector.register(services.https, selectors.EVENT_READ, services)
    (lab_dir / "ready").write_text("ready\n")
    print(f"lab: serving {len(endpoints)} hosts (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        while not stop.is_set():
            for key, _mask in selector.select(timeout=0.5):
                if isinstance(key.data, HostServices):
                    accept(key.data, key.fileobj)  # type: ignore[arg-type]
                    continue
                endpoint = key.data
                try:
                    endpoint._handle_request_noblock()
                except (BlockingIOError, OSError):
                    continue
    finally:
        for endpoint in endpoints:
            endpoint.server_close()
        if kdc_process is not None:
            kdc_process.terminate()
            kdc_process.wait(timeout=10)
        for services in listeners:
            services.close()
        (lab_dir / "ready").unlink(missing_ok=True)
        print("lab: stopped", file=sys.stderr, flush=True)
