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
import sys
import threading
from pathlib import Path
from types import FrameType

from tests.lab.state import read_json, write_json
from tests.lab.wsman import HostEndpoint


def _ssl_context(lab_dir: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(lab_dir / "tls" / "server.pem", lab_dir / "tls" / "server.key")
    return context


def serve(lab_dir: Path) -> None:
    """Bind every host, publish the ports in lab.json and host.json, then serve until SIGTERM."""
    lab = read_json(lab_dir / "lab.json")
    context = _ssl_context(lab_dir) if any(h.get("scheme") == "https" for h in lab["hosts"]) else None
    endpoints: list[HostEndpoint] = []
    for entry in lab["hosts"]:
        host_dir = lab_dir / "hosts" / entry["name"]
        endpoint = HostEndpoint(host_dir, context if entry.get("scheme") == "https" else None)
        endpoints.append(endpoint)
        entry["port"] = endpoint.server_address[1]
        info = read_json(host_dir / "host.json")
        info["port"] = entry["port"]
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
    (lab_dir / "ready").write_text("ready\n")
    print(f"lab: serving {len(endpoints)} hosts (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        while not stop.is_set():
            for key, _mask in selector.select(timeout=0.5):
                endpoint = key.data
                try:
                    endpoint._handle_request_noblock()
                except (BlockingIOError, OSError):
                    continue
    finally:
        for endpoint in endpoints:
            endpoint.server_close()
        (lab_dir / "ready").unlink(missing_ok=True)
        print("lab: stopped", file=sys.stderr, flush=True)
