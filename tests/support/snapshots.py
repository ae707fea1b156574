"""Build read results (docs/agent-protocol.md, ``read``) from test PKI certificates."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import format_windows_dn
from tests.support.pki import Issued


def tls_name(issued: Issued) -> str:
    """The TlsCertificateName Exchange would show for this certificate."""
    return f"<I>{format_windows_dn(issued.cert.issuer)}<S>{format_windows_dn(issued.cert.subject)}"


def cert_entry(issued: Issued, *, exportable: bool = True, friendly_name: str = "") -> dict:
    has_key = issued.key is not None
    return {
        "thumbprint": issued.thumbprint,
        "der_b64": base64.b64encode(issued.der).decode("ascii"),
        "subject": format_windows_dn(issued.cert.subject),
        "issuer": format_windows_dn(issued.cert.issuer),
        "has_private_key": has_key,
        "private_key_exportable": exportable if has_key else None,
        "friendly_name": friendly_name,
    }


def send_connector(
    name: str, tls_certificate_name: str | None = None, fqdn: str = "mail.contoso.com", **extra: Any
) -> dict:
    return {
        "identity": name,
        "name": name,
        "fqdn": fqdn,
        "tls_certificate_name": tls_certificate_name,
        "require_tls": True,
        "tls_auth_level": "DomainValidation",
        "tls_domain": "mail.protection.outlook.com",
        "cloud_services_mail_enabled": True,
        "smart_hosts": ["contoso.mail.protection.outlook.com"],
        "source_transport_servers": ["EX01"],
        "protocol_logging_level": "None",
        "enabled": True,
        **extra,
    }


def receive_connector(
    name: str,
    tls_certificate_name: str | None = None,
    fqdn: str = "mail.contoso.com",
    server: str = "EX01",
    **extra: Any,
) -> dict:
    return {
        "identity": f"{server}\\{name}",
        "name": name,
        "server": server,
        "fqdn": fqdn,
        "tls_certificate_name": tls_certificate_name,
        "auth_mechanism": ["Tls", "Integrated"],
        "bindings": ["0.0.0.0:25"],
        "protocol_logging_level": "None",
        "enabled": True,
        **extra,
    }


def iis_binding(thumbprint: str | None, site: str = "Default Web Site", port: int = 443) -> dict:
    return {
        "site": site,
        "binding": f"*:{port}:",
        "port": port,
        "host_header": "",
        "thumbprint": thumbprint,
        "store": "My",
    }


# Get-AuthConfig read, naming no certificate in the host's stores.
NO_AUTH_CERTIFICATES: Mapping[str, str | None] = MappingProxyType({"current": None, "next": None, "previous": None})


def host_snapshot(
    *,
    my: Iterable[Issued] = (),
    ca: Iterable[Issued] = (),
    root: Iterable[Issued] = (),
    auth_root: Iterable[Issued] = (),
    computer_name: str = "EX01",
    fqdn: str = "ex01.contoso.com",
    time_utc: dt.datetime | None = None,
    exchange: bool = True,
    services: Mapping[str, Iterable[str]] | None = None,
    status: Mapping[str, str] | None = None,
    send_connectors: Iterable[dict] = (),
    receive_connectors: Iterable[dict] = (),
    hybrid: str | bool | None = False,
    internal_transport: str | None = None,
    iis_bindings: Iterable[dict] = (),
    auth_config: Mapping[str, str | None] | None = NO_AUTH_CERTIFICATES,
    federation_trusts: Iterable[Mapping[str, str | None]] | None = (),
) -> dict:
    """A ``read`` result. ``hybrid``: False for none, else the hybrid TlsCertificateName (or None).

    ``auth_config``: Get-AuthConfig's thumbprints by role (current, next, previous); None: not readable.
    ``federation_trusts``: each trust's thumbprints by role, as Get-FederationTrust has them; None: not readable.
    """
    my = list(my)
    services = dict(services or {})
    status = dict(status or {})
    exchange_part = None
    if exchange:
        exchange_part = {
            "server": computer_name,
            "version": "15.2.1544.4",
            "certificates": [
                {
                    "thumbprint": i.thumbprint,
                    "services": list(services.get(i.thumbprint, ())),
                    "status": status.get(i.thumbprint, "Valid"),
                    "root_ca_type": "ThirdParty",
                }
                for i in my
            ],
            "send_connectors": list(send_connectors),
            "receive_connectors": list(receive_connectors),
            "hybrid_configuration": None
            if hybrid is False
            else {
                "tls_certificate_name": hybrid,
                "sending_transport_servers": [computer_name],
                "receiving_transport_servers": [computer_name],
                "edge_transport_servers": [],
            },
            "auth_config": None if auth_config is None else dict(auth_config),
            "federation_trusts": None if federation_trusts is None else [dict(t) for t in federation_trusts],
            "transport_service": {
                "internal_transport_certificate_thumbprint": internal_transport,
                "send_protocol_log_path": "C:\\Exchange\\TransportRoles\\Logs\\Hub\\ProtocolLog\\SmtpSend",
                "receive_protocol_log_path": "C:\\Exchange\\TransportRoles\\Logs\\Hub\\ProtocolLog\\SmtpReceive",
            },
        }
    return {
        "host": {
            "computer_name": computer_name,
            "fqdn": fqdn,
            "time_utc": (time_utc or dt.datetime.now(dt.UTC)).isoformat(),
            "os": "Windows Server 2019",
        },
        "stores": {
            "My": [cert_entry(i) for i in my],
            "CA": [cert_entry(i.without_key()) for i in ca],
            "Root": [cert_entry(i.without_key()) for i in root],
            "AuthRoot": [cert_entry(i.without_key()) for i in auth_root],
        },
        "exchange": exchange_part,
        "iis_bindings": list(iis_bindings),
    }
