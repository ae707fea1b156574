"""Start and stop a lab: build the folders, run the server process in the background, write the inventory."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab import kdc
from tests.lab.costs import ServerCosts
from tests.lab.from_folders import FolderError, import_folders
from tests.lab.inventory import write_inventory
from tests.lab.scenarios import LAB_PASSWORD, USER, build_lab
from tests.lab.state import read_json, write_json
from tests.lab.tls import write_lab_tls
from tests.lab.transports import kerberos_service_hosts, write_transport_credentials
from tests.lab.twin import TwinError, build_twin_folders

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 120.0
_DIGEST_SKIP = {"requests.log", "faults.json"}


class LabError(RuntimeError):
    """The lab could not be started or stopped; the message says why."""


@dataclass
class LabHandle:
    """A running lab: its folder, its inventory, its hosts, and how to stop it."""

    dir: Path
    inventory_path: Path
    hosts: list[str]
    scenario: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def host_dir(self, name: str) -> Path:
        if name not in self.hosts:
            raise KeyError(f"the lab has no host {name!r}; it has {', '.join(self.hosts)}")
        return self.dir / "hosts" / name

    def port(self, name: str) -> int:
        return int(read_json(self.host_dir(name) / "host.json")["port"])

    def host_info(self, name: str) -> dict:
        return read_json(self.host_dir(name) / "host.json")

    @property
    def record(self) -> dict:
        """scenario.json: thumbprints of interest per host and for the whole PKI."""
        return read_json(self.dir / "scenario.json")

    def stop(self) -> None:
        stop_lab(self.dir, self.process)
        self.process = None


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start_lab(
    dir: Path | str,
    scenario: str,
    hosts: int = 3,
    https: bool = False,
    inventory: Path | str | None = None,
    *,
    https_server_certificate: str = "valid",
    costs: ServerCosts | None = None,
    transports: bool = False,
    listeners: bool = True,
) -> LabHandle:
    """Build ``scenario`` in ``dir`` (emptied first), start its server process, write the inventory.

    ``costs`` gives every host a real server's fixed costs (``tests/lab/costs.py``); none by default.
    ``listeners`` gives every host an SMTP (STARTTLS) and an HTTPS listener presenting what its
    services loaded (docs/lab.md); off, a host is reached by WinRM only.
    """
    lab_dir = Path(dir).resolve()
    if (lab_dir / "lab.pid").exists():
        stop_lab(lab_dir)
    if lab_dir.exists():
        shutil.rmtree(lab_dir)
    lab_dir.mkdir(parents=True)
    build_lab(lab_dir, scenario, hosts=hosts, https=https, transports=transports)
    if costs is not None:
        _set_costs(lab_dir, costs)
    if transports:
        write_transport_credentials(lab_dir)
        _provision_kerberos(lab_dir)
    if not listeners:
        write_json(lab_dir / "lab.json", {**read_json(lab_dir / "lab.json"), "listeners": False})
    if https or transports:
        write_lab_tls(lab_dir, server=https_server_certificate)  # "expired": tests/reliability/test_https_validation.py
    return launch(lab_dir, inventory, scenario)


def launch(lab_dir: Path, inventory: Path | str | None, scenario: str) -> LabHandle:
    """Start the server process on a lab folder as it is (the machines boot), then write the inventory."""
    log = (lab_dir / "lab.log").open("ab")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.lab", "serve", "--dir", str(lab_dir)],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env=env,
        start_new_session=True,
    )
    log.close()
    (lab_dir / "lab.pid").write_text(f"{process.pid}\n")
    deadline = time.monotonic() + READY_TIMEOUT
    while not (lab_dir / "ready").exists():
        if process.poll() is not None:
            raise LabError(f"the lab server exited with code {process.returncode}; see {lab_dir / 'lab.log'}")
        if time.monotonic() > deadline:
            process.terminate()
            raise LabError(f"the lab server did not become ready in {READY_TIMEOUT:.0f}s; see {lab_dir / 'lab.log'}")
        time.sleep(0.05)
    lab = read_json(lab_dir / "lab.json")
    for entry in lab["hosts"][:5] + lab["hosts"][-5:]:
        if not _port_answers(entry["port"]):
            process.terminate()
            raise LabError(f"host {entry['name']} does not answer on port {entry['port']}")
    inventory_path = Path(inventory).resolve() if inventory else lab_dir / "hosts.yml"
    write_inventory(lab_dir, inventory_path)
    return LabHandle(lab_dir, inventory_path, [h["name"] for h in lab["hosts"]], scenario, process)


def _set_costs(lab_dir: Path, costs: ServerCosts) -> None:
    for host_json in sorted((lab_dir / "hosts").glob("*/host.json")):
        info = read_json(host_json)
        info["costs"] = costs.to_host_info()
        write_json(host_json, info)


def _provision_kerberos(lab_dir: Path) -> None:
    service_hosts = kerberos_service_hosts(lab_dir)
    if not service_hosts:
        return
    if not kdc.available():
        raise LabError(
            "the transport hosts need MIT Kerberos (krb5kdc, kdb5_util, kadmin.local, kinit): "
            "run tests/support/ensure-system-deps.sh as root"
        )
    began = time.monotonic()
    try:
        kdc.provision(lab_dir, USER, LAB_PASSWORD, service_hosts)
    except kdc.KdcError as exc:
        raise LabError(str(exc)) from exc
    lab = read_json(lab_dir / "lab.json")
    lab["kdc_provision_seconds"] = round(time.monotonic() - began, 3)  # realm, principals, keytab
    write_json(lab_dir / "lab.json", lab)


def start_lab_from(
    source: Path | str,
    dir: Path | str,
    inventory: Path | str | None = None,
    *,
    scenario: str = "from-folders",
    desired_state: bool = True,
) -> LabHandle:
    """Serve the host folders a user wrote in ``source`` (copied into ``dir``, emptied first)."""
    source_dir = Path(source).resolve()
    lab_dir = Path(dir).resolve()
    if lab_dir == source_dir or source_dir in lab_dir.parents:
        raise LabError(f"--dir {lab_dir} must not be --from {source_dir} or inside it: the lab empties --dir")
    if (lab_dir / "lab.pid").exists():
        stop_lab(lab_dir)
    if lab_dir.exists():
        shutil.rmtree(lab_dir)
    lab_dir.mkdir(parents=True)
    try:
        import_folders(source_dir, lab_dir, scenario, desired_state=desired_state)
    except FolderError as exc:
        raise LabError(str(exc)) from None
    return launch(lab_dir, inventory, scenario)


def start_twin(facts: Path | str, dir: Path | str, inventory: Path | str | None = None) -> LabHandle:
    """A lab built from cert_facts ``save_to`` files: one host per saved server (see tests/lab/twin.py)."""
    with tempfile.TemporaryDirectory(prefix="certwarden-twin-") as staging:
        try:
            build_twin_folders(Path(facts), Path(staging))
        except TwinError as exc:
            raise LabError(str(exc)) from None
        return start_lab_from(staging, dir, inventory, scenario="twin", desired_state=False)


def reboot_lab(lab: LabHandle) -> LabHandle:
    """Stop the lab's server process and start it again on the same folders: every service starts again
    from the stores as they are (new ports, inventory rewritten)."""
    lab.stop()
    return launch(lab.dir, lab.inventory_path, lab.scenario)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own unreaped child) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def stop_lab(dir: Path | str, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Stop the lab server recorded in ``<dir>/lab.pid``; returns False when none was running."""
    lab_dir = Path(dir)
    pid_file = lab_dir / "lab.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().strip())
    recorded = read_json(lab_dir / "lab.json", {}) or {}
    if recorded.get("pid") not in (None, pid):
        raise LabError(f"{pid_file} names pid {pid} but lab.json names {recorded.get('pid')}; not stopping either")
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    if process is not None:
        process.wait(timeout=10)
    pid_file.unlink(missing_ok=True)
    return True


def state_digest(dir: Path | str, include_logs: bool = False) -> str:
    """SHA-256 over every byte of every host and organisation state file.

    Left out: request logs (every WinRM call writes them), ``faults.json`` (the
    test's input, which a ``once`` fault deletes) and, unless ``include_logs``,
    the SMTP protocol logs under ``<host>/logs`` (Exchange writes those on its
    own, and the lab writes one session per ``read``; see docs/lab.md).
    """
    lab_dir = Path(dir)
    digest = hashlib.sha256()
    for top in ("hosts", "orgs"):
        base = lab_dir / top
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = path.relative_to(lab_dir)
            if path.name in _DIGEST_SKIP:
                continue
            if not include_logs and top == "hosts" and len(rel.parts) > 3 and rel.parts[2] == "logs":
                continue
            digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
