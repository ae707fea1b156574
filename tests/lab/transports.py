"""The lab's transport hosts: healthy servers that each accept exactly one way in.

``start_lab(..., transports=True)`` (and ``make lab``) adds them next to the
scenario's hosts, in their own organisation, and the inventory puts each in
its ``transport_<name>`` group(s), so a run that succeeds against a group proves
that way of connecting (docs/lab.md, "Transports").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lab.kdc import REALM
from tests.lab.scenarios import HostSpec, break_service_unbound, healthy_host
from tests.lab.state import read_json, write_bytes_atomic, write_json
from tests.support.pki import TestPki

TRANSPORT_ORG = "contoso-transports"


@dataclass(frozen=True)
class TransportHost:
    name: str
    computer_name: str
    scheme: str
    mechanisms: tuple[str, ...]
    groups: tuple[str, ...]
    connection: str = "winrm"
    endpoints: tuple[str, ...] = ("cmd", "powershell")  # WS-Man shells served: WinRS cmd, PSRP


TRANSPORT_HOSTS = (
    TransportHost("via-basic", "EX51", "http", ("basic",), ("transport_basic",)),
    TransportHost("via-ntlm", "EX52", "http", ("ntlm",), ("transport_ntlm",)),
    TransportHost("via-ntlm-https", "EX53", "https", ("ntlm",), ("transport_ntlm", "transport_https")),
    TransportHost("via-kerberos", "EX54", "http", ("kerberos",), ("transport_kerberos",)),
    TransportHost("via-kerberos-delegated", "EX57", "http", ("kerberos",), ("transport_kerberos",)),
    TransportHost("via-kerberos-https", "EX59", "https", ("kerberos",), ("transport_kerberos", "transport_https")),
    TransportHost("via-credssp", "EX55", "http", ("credssp",), ("transport_credssp",)),
    TransportHost("via-https", "EX56", "https", ("basic",), ("transport_https",)),
    TransportHost("via-psrp", "EX58", "http", ("ntlm",), ("transport_psrp",), "psrp", ("powershell",)),
)
TRANSPORT_GROUPS = tuple(sorted({g for h in TRANSPORT_HOSTS for g in h.groups}))
BY_NAME = {h.name: h for h in TRANSPORT_HOSTS}


def plan_transport_hosts(pki: TestPki) -> list[HostSpec]:
    """Each has the renewed certificate enabled for IIS only (scenario service-unbound): apply has one fix to make."""
    specs = []
    for host in TRANSPORT_HOSTS:
        spec = healthy_host(pki, host.name, host.computer_name, TRANSPORT_ORG)
        break_service_unbound(pki, spec)
        specs.append(spec)
    return specs


def write_transport_hosts(
    lab_dir: Path, pki: TestPki, password: str, write_host: Callable[..., None]
) -> list[tuple[HostSpec, str]]:
    """Write every transport host's folder with ``write_host`` (scenarios._write_host); (spec, scheme) of each."""
    written = []
    for spec in plan_transport_hosts(pki):
        transport = BY_NAME[spec.name]
        write_host(lab_dir, spec, transport.scheme, password, transport.mechanisms)
        host_json = lab_dir / "hosts" / spec.name / "host.json"
        info = {**read_json(host_json), "endpoints": list(transport.endpoints)}
        if "kerberos" in transport.mechanisms:
            # The controller's user is the UPN (certwarden@LAB.TEST); an explicit Exchange credential in that
            # form logs on as well, as a UPN does on Windows.
            upn = {"user": f"{info['auth']['user']}@{REALM}", "password": password}
            info["exchange_shell"] = {**info.get("exchange_shell", {}), "accounts": [upn]}
        write_json(host_json, info)
        written.append((spec, transport.scheme))
    return written


def connection_vars(name: str, info: dict[str, Any], lab_dir: Path) -> dict[str, Any]:
    """The inventory variables that reach transport host ``name`` its one way."""
    host = BY_NAME[name]
    mechanism = host.mechanisms[0]
    if host.connection == "psrp":
        # pypsrp: Negotiate (NTLM here) with message encryption over HTTP, the module's defaults
        return {"ansible_connection": "psrp", "ansible_psrp_protocol": host.scheme, "ansible_psrp_auth": "negotiate"}
    variables: dict[str, Any] = {
        "ansible_connection": host.connection,
        "ansible_winrm_transport": mechanism,
        "ansible_winrm_scheme": host.scheme,
    }
    if mechanism == "kerberos":
        # ansible's kinit gets the lab realm's krb5.conf through KRB5_CONFIG (passed on by kinit_env_vars).
        variables["ansible_user"] = f"{info['auth']['user']}@{REALM}"
        variables["ansible_winrm_kerberos_hostname_override"] = info["fqdn"]
        variables["ansible_winrm_kinit_env_vars"] = ["KRB5_CONFIG"]
        variables["ansible_winrm_kerberos_delegation"] = host.name.endswith("-delegated")
    if host.scheme == "https":
        variables["ansible_winrm_server_cert_validation"] = "validate"
        variables["ansible_winrm_ca_trust_path"] = str(lab_dir / "ca.pem")
    return variables


def kerberos_service_hosts(lab_dir: Path) -> list[str]:
    return [
        read_json(lab_dir / "hosts" / h.name / "host.json")["fqdn"]
        for h in TRANSPORT_HOSTS
        if "kerberos" in h.mechanisms and (lab_dir / "hosts" / h.name).is_dir()
    ]


def ntlm_user_file(lab_dir: Path) -> Path:
    return lab_dir / "auth" / "ntlm-users"


def write_transport_credentials(lab_dir: Path) -> None:
    """The NTLM acceptor's credential store (NTLM_USER_FILE, Heimdal ``DOMAIN:USER:PASSWORD`` lines)."""
    lines = set()
    for host_json in sorted((lab_dir / "hosts").glob("*/host.json")):
        auth = read_json(host_json)["auth"]
        if {"ntlm", "credssp"} & set(auth.get("mechanisms", ())):
            for domain in ("", "CONTOSO", REALM):
                lines.add(f"{domain}:{auth['user']}:{auth['password']}")
    path = ntlm_user_file(lab_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, ("\n".join(sorted(lines)) + "\n").encode("utf-8"))
    path.chmod(0o600)
