"""A private MIT Kerberos KDC for the lab, on loopback, in the lab's folder.

``provision`` (at lab build time) writes ``krb5/krb5.conf`` (what the controller
points KRB5_CONFIG at), ``krb5/kdc.conf``, creates the realm's database with
``kdb5_util``, the user principal ``<user>@LAB.TEST`` with the lab password and
one ``HTTP/<fqdn>`` service principal per Kerberos host, exported to
``krb5/http.keytab`` (the lab's acceptors read it through KRB5_KTNAME).
``start`` runs ``krb5kdc -n`` (the lab server process owns it and stops it).
Debian packages: krb5-kdc, krb5-admin-server (kdb5_util, kadmin.local), krb5-user.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.lab.state import write_bytes_atomic

REALM = "LAB.TEST"
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
START_TIMEOUT = 20.0


class KdcError(RuntimeError):
    """The KDC could not be provisioned or started; the message says why."""


@dataclass(frozen=True)
class KdcFiles:
    folder: Path

    @property
    def krb5_conf(self) -> Path:
        return self.folder / "krb5.conf"

    @property
    def kdc_conf(self) -> Path:
        return self.folder / "kdc.conf"

    @property
    def keytab(self) -> Path:
        return self.folder / "http.keytab"

    @property
    def port_file(self) -> Path:
        return self.folder / "port"

    def environment(self) -> dict[str, str]:
        return {"KRB5_CONFIG": str(self.krb5_conf), "KRB5_KDC_PROFILE": str(self.kdc_conf)}


def kdc_files(lab_dir: Path) -> KdcFiles:
    return KdcFiles(lab_dir / "krb5")


def tool(name: str) -> str:
    found = shutil.which(name) or next((f"{d}/{name}" for d in _SBIN if os.access(f"{d}/{name}", os.X_OK)), None)
    if found is None:
        raise KdcError(f"{name} is not installed (Debian: krb5-kdc krb5-admin-server krb5-user)")
    return found


def available() -> bool:
    try:
        for name in ("krb5kdc", "kdb5_util", "kadmin.local", "kinit"):
            tool(name)
    except KdcError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_config(files: KdcFiles, port: int, domains: list[str]) -> None:
    mapping = "".join(f"    .{d} = {REALM}\n    {d} = {REALM}\n" for d in sorted(set(domains)))
    krb5 = (
        "[libdefaults]\n"
        f"    default_realm = {REALM}\n"
        "    dns_lookup_kdc = false\n    dns_lookup_realm = false\n"
        "    rdns = false\n    dns_canonicalize_hostname = false\n"
        "    udp_preference_limit = 1\n"  # TCP only: one listener to wait for
        f"[realms]\n    {REALM} = {{\n        kdc = 127.0.0.1:{port}\n    }}\n"
        f"[domain_realm]\n{mapping}"
    )
    kdc = (
        f"[kdcdefaults]\n    kdc_listen = 127.0.0.1:{port}\n    kdc_tcp_listen = 127.0.0.1:{port}\n"
        f"[realms]\n    {REALM} = {{\n"
        f"        database_name = {files.folder / 'principal'}\n"
        f"        key_stash_file = {files.folder / 'stash'}\n"
        f"        acl_file = {files.folder / 'kadm5.acl'}\n"
        "        max_life = 10h\n        max_renewable_life = 1d\n"
        "        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n"
        "    }\n"
        f"[logging]\n    kdc = FILE:{files.folder / 'kdc.log'}\n"
    )
    write_bytes_atomic(files.krb5_conf, krb5.encode("ascii"))
    write_bytes_atomic(files.kdc_conf, kdc.encode("ascii"))
    write_bytes_atomic(files.folder / "kadm5.acl", b"")
    write_bytes_atomic(files.port_file, f"{port}\n".encode("ascii"))


def _run(files: KdcFiles, argv: list[str], stdin: str | None = None) -> None:
    env = {**os.environ, **files.environment()}
    done = subprocess.run(argv, input=stdin, env=env, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise KdcError(f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr.strip()[:500]}")


def provision(lab_dir: Path, user: str, password: str, service_hosts: list[str]) -> KdcFiles:
    """The realm, the user principal and the HTTP/<fqdn> principals in the keytab."""
    files = kdc_files(lab_dir)
    files.folder.mkdir(parents=True, exist_ok=True)
    _write_config(files, _free_port(), [h.split(".", 1)[1] for h in service_hosts if "." in h])
    master = secrets.token_urlsafe(24)  # the database's master key; the stash file keeps it for krb5kdc
    _run(files, [tool("kdb5_util"), "create", "-s", "-r", REALM, "-P", master])
    queries = [f"addprinc -pw {password} {user}@{REALM}"]
    for host in service_hosts:
        queries += [f"addprinc -randkey HTTP/{host}@{REALM}", f"ktadd -k {files.keytab} HTTP/{host}@{REALM}"]
    for query in queries:
        _run(files, [tool("kadmin.local"), "-r", REALM, "-q", query])
    return files


def start(files: KdcFiles, log: Path) -> subprocess.Popen[bytes]:
    """Run krb5kdc in the foreground as a child; returns once it accepts TCP connections."""
    port = int(files.port_file.read_text(encoding="ascii"))
    with log.open("ab") as output:
        process = subprocess.Popen(
            [tool("krb5kdc"), "-n", "-r", REALM],
            env={**os.environ, **files.environment()},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise KdcError(f"krb5kdc exited with code {process.returncode}; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise KdcError(f"krb5kdc did not listen on 127.0.0.1:{port} within {START_TIMEOUT:.0f}s; see {log}")
