"""Lab scenarios: host folders rebuilt from a fresh TestPki for every failure DESIGN.md names.

Every scenario starts from healthy servers (the renewed certificate bound to
IIS and SMTP, chain complete, connectors naming it) and breaks exactly what its
name says, on the host(s) listed in ``SCENARIO_DOCS``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.lab.state import HostState, write_bytes_atomic, write_json
from tests.lab.winnames import tls_certificate_name
from tests.support.pki import Issued, TestPki, key_for, make_certificate, name

PFX_PASSWORD = "certwarden-lab"
USER = "certwarden"
LAB_PASSWORD = "Lab-Passw0rd!"
EXCHANGE_ROOT = "C:\\Program Files\\Microsoft\\Exchange Server\\V15"
SEND_LOG = EXCHANGE_ROOT + "\\TransportRoles\\Logs\\Hub\\ProtocolLog\\SmtpSend"
RECEIVE_LOG = EXCHANGE_ROOT + "\\TransportRoles\\Logs\\Hub\\ProtocolLog\\SmtpReceive"
# The Front End Transport service's own logs (Get-FrontendTransportService): hybrid inbound mail and proxied sends.
FRONTEND_SEND_LOG = EXCHANGE_ROOT + "\\TransportRoles\\Logs\\FrontEnd\\ProtocolLog\\SmtpSend"
FRONTEND_RECEIVE_LOG = EXCHANGE_ROOT + "\\TransportRoles\\Logs\\FrontEnd\\ProtocolLog\\SmtpReceive"
SEND_CONNECTOR = "Outbound to Office 365"

SCENARIO_DOCS = {
    "healthy": "EX01..EX03 compliant.",
    "duplicate-no-key": "EX02: next to the renewed certificate (with key, bound) sits a re-issued copy with the same "
    "issuer and subject, imported from a .cer without its private key, with the newest NotBefore: Exchange "
    "presents it and EX02 logs NoCredentials. EX01 and EX03 are healthy (the field case).",
    "imported-without-key": "EX02: the renewed certificate is present only as a copy without its private key (the "
    ".cer was imported, not the .pfx), and the old certificate (with key) is still bound.",
    "duplicate-revoked": "EX02: the old certificate is still in My next to the renewed one, Exchange status Revoked.",
    "missing-intermediate": "EX02: the policy CA is missing from CA. EX03: trusts only the legacy root and lacks "
    "the cross-signed root certificate.",
    "service-unbound": "EX02: the intended certificate is present but enabled for IIS only, not SMTP.",
    "stale-connector": "All: the certificate was renewed with a new subject (O=Contoso Ltd Group); the send "
    "connector, every Default Frontend receive connector and the hybrid configuration still "
    "name the old certificate (still present, no services).",
    "expiring": "EX02: the bound certificate expires in 5 days; the renewed one is staged without any service.",
    "not-a-source": "EX02 is an internal mailbox server: not a source transport server of the send connector nor a "
    "hybrid transport server, and it holds its own certificate (rebranded, bound to its own receive connector), "
    "not the one the send connector and the hybrid configuration name. Compliant: nothing to judge them on there.",
    "fqdn-selected": "The send connector has no TlsCertificateName (Exchange selects by its FQDN, mail.contoso.com). "
    "EX02 holds a newer certificate for that name (rebranded, with key) not enabled for SMTP: Exchange would "
    "present it (UnknownCredentials).",
    "field": "One host per broken scenario, named after it, plus 'healthy'; 'stale-connector' is in its own "
    "organisation (contoso-stale) because connectors are organisation-wide.",
    "fleet": "N healthy hosts with small variations (OS, Exchange build, friendly names) for benchmarks.",
}
SCENARIOS = tuple(SCENARIO_DOCS)


@dataclass
class MyCert:
    issued: Issued
    has_key: bool = True
    services: list[str] = field(default_factory=list)
    status: str | None = None
    friendly_name: str = ""
    exportable: bool = True


@dataclass
class HostSpec:
    """A simulated server before it is written to its folder."""

    name: str
    computer_name: str
    org: str
    domain: str
    intended: Issued
    my: dict[str, MyCert] = field(default_factory=dict)
    ca: list[Issued] = field(default_factory=list)
    root: list[Issued] = field(default_factory=list)
    auth_root: list[Issued] = field(default_factory=list)
    self_signed: Issued | None = None
    os: str = "Windows Server 2019"
    exchange_version: str = "15.2.1544.4"
    broken: str = ""
    roles: dict[str, str] = field(default_factory=dict)
    iis_thumbprint: str = ""

    @property
    def fqdn(self) -> str:
        return f"{self.computer_name.lower()}.{self.domain}"

    def put(self, cert: MyCert) -> None:
        self.my[cert.issued.thumbprint] = cert


def _self_signed(pki: TestPki, computer: str) -> Issued:
    # One shared key for every host's own certificate: key generation is the slow part of a 1,000-host fleet.
    return make_certificate(
        name(computer, org=None, country=None),
        key_for("self-signed"),
        not_before=pki.now - dt.timedelta(days=700),
        not_after=pki.now + dt.timedelta(days=1100),
        sans=(computer, f"{computer}.{pki.domain}"),
    )


def healthy_host(pki: TestPki, inventory_name: str, computer: str, org: str = "contoso") -> HostSpec:
    spec = HostSpec(inventory_name, computer, org, pki.domain, pki.renewed)
    spec.self_signed = _self_signed(pki, computer)
    spec.put(MyCert(pki.renewed, services=["IIS", "SMTP"], friendly_name=f"{pki.fqdn} (renewed)"))
    spec.put(MyCert(spec.self_signed, services=["SMTP"], friendly_name="Microsoft Exchange", exportable=False))
    spec.ca = [pki.issuing_ca, pki.policy_ca]
    spec.root = [pki.root]
    spec.auth_root = [pki.legacy_root]
    spec.iis_thumbprint = pki.renewed.thumbprint
    spec.roles = {"intended": pki.renewed.thumbprint, "self_signed": spec.self_signed.thumbprint}
    return spec


# The breakages, one per scenario, applied to a healthy host -----------------------------
def break_duplicate_no_key(pki: TestPki, spec: HostSpec) -> None:
    spec.put(MyCert(pki.reissued.without_key(), has_key=False, friendly_name=f"{pki.fqdn} (imported .cer)"))
    spec.roles.update(keyless_copy=pki.reissued.thumbprint)
    spec.broken = "duplicate-no-key"


def break_imported_without_key(pki: TestPki, spec: HostSpec) -> None:
    spec.my.pop(pki.renewed.thumbprint)
    spec.put(MyCert(pki.leaf, services=["IIS", "SMTP"], friendly_name=f"{pki.fqdn} (previous)"))
    spec.put(MyCert(pki.renewed.without_key(), has_key=False, friendly_name=f"{pki.fqdn} (renewed)"))
    spec.iis_thumbprint = pki.leaf.thumbprint
    spec.roles.update(keyless_copy=pki.renewed.thumbprint, old=pki.leaf.thumbprint)
    spec.broken = "imported-without-key"


def break_duplicate_revoked(pki: TestPki, spec: HostSpec) -> None:
    spec.put(MyCert(pki.leaf, status="Revoked", friendly_name=f"{pki.fqdn} (previous)"))
    spec.roles.update(revoked=pki.leaf.thumbprint)
    spec.broken = "duplicate-revoked"


def break_missing_intermediate(pki: TestPki, spec: HostSpec) -> None:
    spec.ca = [pki.issuing_ca]
    spec.roles.update(missing=pki.policy_ca.thumbprint)
    spec.broken = "missing-intermediate"


def break_missing_cross_root(pki: TestPki, spec: HostSpec) -> None:
    spec.root = [pki.legacy_root]
    spec.auth_root = []
    spec.roles.update(missing=pki.cross_root.thumbprint, trusted_root=pki.legacy_root.thumbprint)
    spec.broken = "missing-intermediate-cross"


def break_service_unbound(pki: TestPki, spec: HostSpec) -> None:
    spec.my[pki.renewed.thumbprint].services = ["IIS"]
    spec.broken = "service-unbound"


def break_stale_connector(pki: TestPki, spec: HostSpec) -> None:
    """Host part of the stale-connector case (the connector part is organisation-wide)."""
    spec.my.pop(pki.renewed.thumbprint)
    spec.intended = pki.rebranded
    spec.put(MyCert(pki.rebranded, services=["IIS", "SMTP"], friendly_name=f"{pki.fqdn} (rebranded)"))
    spec.put(MyCert(pki.leaf, friendly_name=f"{pki.fqdn} (previous)"))
    spec.iis_thumbprint = pki.rebranded.thumbprint
    spec.roles.update(intended=pki.rebranded.thumbprint, old=pki.leaf.thumbprint)
    spec.broken = "stale-connector"


def break_expiring(pki: TestPki, spec: HostSpec) -> None:
    spec.my[pki.renewed.thumbprint].services = []
    spec.put(MyCert(pki.expiring, services=["IIS", "SMTP"], friendly_name=f"{pki.fqdn} (expiring)"))
    spec.iis_thumbprint = pki.expiring.thumbprint
    spec.roles.update(expiring=pki.expiring.thumbprint)
    spec.broken = "expiring"


BREAKERS = {
    "duplicate-no-key": break_duplicate_no_key,
    "imported-without-key": break_imported_without_key,
    "duplicate-revoked": break_duplicate_revoked,
    "missing-intermediate": break_missing_intermediate,
    "missing-intermediate-cross": break_missing_cross_root,
    "service-unbound": break_service_unbound,
    "stale-connector": break_stale_connector,
    "expiring": break_expiring,
}


def break_not_a_source(pki: TestPki, spec: HostSpec) -> None:
    """Host part: its own certificate; the organisation part (source lists) is in _write_org."""
    spec.my.pop(pki.renewed.thumbprint)
    spec.intended = pki.rebranded
    spec.put(MyCert(pki.rebranded, services=["IIS", "SMTP"], friendly_name=f"{pki.fqdn} (internal)"))
    spec.iis_thumbprint = pki.rebranded.thumbprint
    spec.roles.update(intended=pki.rebranded.thumbprint)
    spec.broken = "not-a-source"


def break_fqdn_selected(pki: TestPki, spec: HostSpec) -> None:
    """Host part: a newer certificate for the connector's FQDN, staged without services."""
    spec.put(MyCert(pki.rebranded, services=[], friendly_name=f"{pki.fqdn} (staged)"))
    spec.roles.update(fqdn_selected=pki.rebranded.thumbprint)
    spec.broken = "fqdn-selected"


# Cases whose organisation objects differ too (not in the field lab, whose organisation is shared).
ORGANISATION_CASES = {"not-a-source": break_not_a_source, "fqdn-selected": break_fqdn_selected}


def plan_hosts(pki: TestPki, scenario: str, hosts: int) -> list[HostSpec]:
    """The host specs of a scenario."""
    if scenario == "fleet":
        width = max(4, len(str(hosts)))
        specs = []
        for index in range(1, hosts + 1):
            spec = healthy_host(pki, f"EX{index:0{width}d}", f"EX{index:0{width}d}")
            if index % 3 == 0:
                spec.os = "Windows Server 2022"
                spec.exchange_version = "15.2.1748.10"
            if index % 5 == 0:
                spec.my[pki.renewed.thumbprint].friendly_name = f"Exchange {pki.now.year}"
            specs.append(spec)
        return specs
    if scenario == "field":
        specs = [healthy_host(pki, "healthy", "EX01")]
        for number, kind in enumerate(BREAKERS, start=2):
            org = "contoso-stale" if kind == "stale-connector" else "contoso"
            spec = healthy_host(pki, kind, f"EX{number:02d}", org)
            BREAKERS[kind](pki, spec)
            specs.append(spec)
        return specs
    if scenario not in SCENARIO_DOCS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    specs = [healthy_host(pki, f"EX{i:02d}", f"EX{i:02d}") for i in range(1, 4)]
    if scenario == "stale-connector":
        for spec in specs:
            break_stale_connector(pki, spec)
    elif scenario == "missing-intermediate":
        break_missing_intermediate(pki, specs[1])
        break_missing_cross_root(pki, specs[2])
    elif scenario in ORGANISATION_CASES:
        ORGANISATION_CASES[scenario](pki, specs[1])
    elif scenario != "healthy":
        BREAKERS[scenario](pki, specs[1])
    return specs


# Writing folders -----------------------------------------------------------------------
def _write_host(
    lab_dir: Path, spec: HostSpec, scheme: str, password: str, mechanisms: tuple[str, ...] = ("basic",)
) -> None:
    host_dir = lab_dir / "hosts" / spec.name
    write_json(
        host_dir / "host.json",
        {
            "computer_name": spec.computer_name,
            "fqdn": spec.fqdn,
            "org": spec.org,
            "exchange": True,
            "exchange_version": spec.exchange_version,
            "os": spec.os,
            "auth": {
                "user": USER,
                "password": password,
                "mechanisms": list(mechanisms),
                # Basic over HTTP works only where the admin set AllowUnencrypted = true (docs/lab.md).
                "allow_unencrypted": scheme == "http" and "basic" in mechanisms,
            },
            "port": 0,
            "scheme": scheme,
        },
    )
    host = HostState(host_dir)
    certificates: dict[str, dict[str, Any]] = {}
    for thumb, entry in spec.my.items():
        key_pem = entry.issued.key_pem() if entry.has_key and entry.issued.key is not None else None
        host.add_certificate("My", entry.issued.cert, key_pem, entry.friendly_name, entry.exportable)
        record: dict[str, Any] = {"services": entry.services}
        if entry.status:
            record["status"] = entry.status
        certificates[thumb] = record
    for store, items in (("CA", spec.ca), ("Root", spec.root), ("AuthRoot", spec.auth_root)):
        host.store_dir(store).mkdir(parents=True, exist_ok=True)
        for issued in items:
            host.add_certificate(store, issued.cert)
    write_json(host_dir / "exchange" / "certificates.json", certificates)
    write_json(
        host_dir / "exchange" / "transport.json",
        {
            "internal_transport_certificate_thumbprint": spec.self_signed.thumbprint if spec.self_signed else None,
            "send_protocol_log_path": SEND_LOG,
            "receive_protocol_log_path": RECEIVE_LOG,
            "frontend_send_protocol_log_path": FRONTEND_SEND_LOG,
            "frontend_receive_protocol_log_path": FRONTEND_RECEIVE_LOG,
        },
    )
    write_json(
        host_dir / "iis" / "bindings.json",
        [
            {
                "site": "Default Web Site",
                "binding": "*:443:",
                "port": 443,
                "host_header": "",
                "thumbprint": spec.iis_thumbprint,
                "store": "My",
            },
            {
                "site": "Exchange Back End",
                "binding": "*:444:",
                "port": 444,
                "host_header": "",
                "thumbprint": spec.self_signed.thumbprint if spec.self_signed else None,
                "store": "My",
            },
        ],
    )
    (host_dir / "logs" / "SmtpSend").mkdir(parents=True, exist_ok=True)
    (host_dir / "logs" / "SmtpReceive").mkdir(parents=True, exist_ok=True)
    (host_dir / "filesystem" / "C").mkdir(parents=True, exist_ok=True)


def _write_org(lab_dir: Path, org: str, members: list[HostSpec], pki: TestPki) -> None:
    stale = any(m.broken == "stale-connector" for m in members)
    named = tls_certificate_name((pki.leaf if stale else pki.renewed).cert)
    servers = [m.computer_name for m in members]
    # Internal servers ("not-a-source") neither send through the connector nor take part in hybrid mail flow.
    transport = [m.computer_name for m in members if m.broken != "not-a-source"]
    own_name = {m.computer_name: tls_certificate_name(m.intended.cert) for m in members if m.broken == "not-a-source"}
    by_fqdn = any(m.broken == "fqdn-selected" for m in members)
    org_dir = lab_dir / "orgs" / org
    write_json(
        org_dir / "send_connectors.json",
        [
            {
                "identity": SEND_CONNECTOR,
                "name": SEND_CONNECTOR,
                "fqdn": pki.fqdn,
                "tls_certificate_name": None if by_fqdn else named,
                "require_tls": True,
                "tls_auth_level": "DomainValidation",
                "tls_domain": "mail.protection.outlook.com",
                "cloud_services_mail_enabled": True,
                "smart_hosts": [f"{pki.domain.replace('.', '-')}.mail.protection.outlook.com"],
                "source_transport_servers": transport,
                "protocol_logging_level": "Verbose",
                "enabled": True,
            }
        ],
    )
    receive = []
    for server in servers:
        receive.append(
            {
                "identity": f"{server}\\Default Frontend {server}",
                "name": f"Default Frontend {server}",
                "server": server,
                "fqdn": pki.fqdn,
                "tls_certificate_name": own_name.get(server, named),
                "auth_mechanism": ["Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer"],
                "bindings": ["0.0.0.0:25", "[::]:25"],
                "protocol_logging_level": "Verbose",
                "enabled": True,
            }
        )
        receive.append(
            {
                "identity": f"{server}\\Client Frontend {server}",
                "name": f"Client Frontend {server}",
                "server": server,
                "fqdn": f"{server.lower()}.{pki.domain}",
                "tls_certificate_name": None,
                "auth_mechanism": ["Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS"],
                "bindings": ["0.0.0.0:587", "[::]:587"],
                "protocol_logging_level": "None",
                "enabled": True,
            }
        )
    write_json(org_dir / "receive_connectors.json", receive)
    write_json(
        org_dir / "hybrid.json",
        {
            "tls_certificate_name": named,
            "sending_transport_servers": transport,
            "receiving_transport_servers": transport,
            "edge_transport_servers": [],
        },
    )


def host_record(spec: HostSpec, pki: TestPki) -> dict[str, Any]:
    """What scenario.json says of one host: who it is, what is broken, the thumbprints that matter."""
    return {
        "computer_name": spec.computer_name,
        "fqdn": spec.fqdn,
        "org": spec.org,
        "broken": spec.broken or None,
        "intended": spec.intended.thumbprint,
        "intended_label": "rebranded" if spec.intended is pki.rebranded else "renewed",
        "thumbprints": spec.roles,
    }


def _write_pki(lab_dir: Path, pki: TestPki) -> dict[str, str]:
    """PEM files of every certificate of interest, PFX files of the leaves, and the chain bundle."""
    folder = lab_dir / "pki"
    labels = (
        "root",
        "legacy_root",
        "cross_root",
        "policy_ca",
        "issuing_ca",
        "leaf",
        "renewed",
        "reissued",
        "expired",
        "expiring",
        "weak",
        "rebranded",
        "enterprise_root",
        "enterprise_issuing",
        "enterprise_leaf",
    )
    thumbprints = {}
    for label in labels:
        issued: Issued = getattr(pki, label)
        thumbprints[label] = issued.thumbprint
        write_bytes_atomic(folder / f"{label}.pem", issued.pem)
        if issued.key is not None and label in ("leaf", "renewed", "expiring", "rebranded", "expired"):
            write_bytes_atomic(folder / f"{label}.pfx", issued.pfx(PFX_PASSWORD.encode(), chain=pki.chain))
            write_bytes_atomic(
                folder / f"{label}.key",
                issued.key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
            )
    write_bytes_atomic(folder / "chain.pem", pki.issuing_ca.pem + pki.policy_ca.pem + pki.cross_root.pem)
    # What a strict peer such as Exchange Online trusts (both roots) plus the intermediates it knows of,
    # only so that the probe can name an intermediate a server failed to send.
    write_bytes_atomic(folder / "probe-trust.pem", pki.root.pem + pki.legacy_root.pem + pki.issuing_ca.pem
                       + pki.policy_ca.pem + pki.cross_root.pem)  # fmt: skip
    return thumbprints


def build_lab(
    lab_dir: Path,
    scenario: str,
    hosts: int = 3,
    https: bool = False,
    password: str = LAB_PASSWORD,
    *,
    transports: bool = False,
) -> dict[str, Any]:
    """Write every host and organisation folder of ``scenario`` (plus the transport hosts); returns scenario.json."""
    from tests.lab.transports import write_transport_hosts

    pki = TestPki()
    specs = plan_hosts(pki, scenario, hosts)
    scheme = "https" if https else "http"
    schemes = {spec.name: scheme for spec in specs}
    for spec in specs:
        _write_host(lab_dir, spec, scheme, password)
    if transports:
        for spec, transport_scheme in write_transport_hosts(lab_dir, pki, password, _write_host):
            schemes[spec.name] = transport_scheme
            specs.append(spec)
    for org in sorted({s.org for s in specs}):
        _write_org(lab_dir, org, [s for s in specs if s.org == org], pki)
    pki_thumbprints = _write_pki(lab_dir, pki)
    record = {
        "scenario": scenario,
        "description": SCENARIO_DOCS[scenario],
        "created_utc": pki.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pfx_password": PFX_PASSWORD,
        "service_fqdn": pki.fqdn,
        "pki": pki_thumbprints,
        "tls_certificate_names": {
            "leaf": tls_certificate_name(pki.leaf.cert),
            "renewed": tls_certificate_name(pki.renewed.cert),
            "rebranded": tls_certificate_name(pki.rebranded.cert),
        },
        "hosts": {spec.name: host_record(spec, pki) for spec in specs},
    }
    write_json(lab_dir / "scenario.json", record)
    write_json(lab_dir / "pki.json", {"pfx_password": PFX_PASSWORD, "thumbprints": pki_thumbprints})
    write_json(
        lab_dir / "lab.json",
        {
            "scenario": scenario,
            "pid": None,
            "hosts": [{"name": s.name, "org": s.org, "port": 0, "scheme": schemes[s.name]} for s in specs],
        },
    )
    return record
