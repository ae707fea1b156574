"""Write tests/contract/examples/*.json: one request/response pair per case of docs/agent-protocol.md.

Run ``.venv/bin/python -m tests.contract.make_examples`` after changing the
contract; the files are committed so the transport and the simulated server are
tested against the same, fixed examples. Certificates come from the test PKI,
so every ``der_b64`` is a real certificate whose thumbprint matches.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from tests.lab.exchange_shell import AGENT_CMDLETS  # agent.ps1's $ExchangeCmdlets, as the read reports them
from tests.support.pki import Issued, TestPki

EXAMPLES = Path(__file__).with_name("examples")
NOW = dt.datetime(2026, 11, 28, 8, 0, 0, tzinfo=dt.UTC)
SERVER = "EX01"
PFX_PASSWORD = "Backup-Passw0rd!"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def cert_entry(issued: Issued, *, subject: str, issuer: str, exportable: bool | None = None, name: str = "") -> dict:
    return {
        "thumbprint": issued.thumbprint,
        "der_b64": b64(issued.der),
        "subject": subject,
        "issuer": issuer,
        "has_private_key": issued.key is not None,
        "private_key_exportable": exportable if issued.key is not None else None,
        "friendly_name": name,
    }


def response(operation: str, result: dict | None = None, error: tuple[str, str] | None = None) -> dict:
    return {
        "agent_version": "1",
        "operation": operation,
        "ok": error is None,
        "error": None if error is None else {"category": error[0], "message": error[1]},
        "result": result,
    }


def request(operation: str, options: dict) -> dict:
    return {"agent_version": "1", "operation": operation, "options": options}


def step_result(step: dict, status: str, message: str | None = None, data: Any = None) -> dict:
    return {"id": step["id"], "action": step["action"], "status": status, "message": message, "data": data}


def apply_pair(steps: list[dict], statuses: list[tuple[str, str | None, Any]]) -> tuple[dict, dict]:
    results = [step_result(step, *outcome) for step, outcome in zip(steps, statuses, strict=True)]
    failed = any(r["status"] == "failed" for r in results)
    completed = sum(r["status"] in ("changed", "unchanged") for r in results)
    return request("apply", {"steps": steps}), response(
        "apply", {"results": results, "completed": completed, "failed": failed}
    )


def build(pki: TestPki) -> dict[str, dict]:
    leaf_subject = "CN=mail.contoso.com, O=Contoso Ltd, L=Redmond, S=Washington, C=US"
    issuing_subject = "CN=Certwarden TLS Issuing CA 1, O=Certwarden Trust, S=Washington, C=US"
    policy_subject = "CN=Certwarden Policy CA, O=Certwarden Trust, C=US"
    root_subject = "CN=Certwarden Test Root CA, O=Certwarden Trust, C=US"
    tls_name = f"<I>{issuing_subject}<S>{leaf_subject}"
    other_name = "<I>CN=EX01<S>CN=EX01"  # the self-signed certificate's name

    stores = {
        "My": [
            cert_entry(pki.leaf, subject=leaf_subject, issuer=issuing_subject, exportable=True, name="mail 2025"),
            cert_entry(pki.renewed.without_key(), subject=leaf_subject, issuer=issuing_subject),
            cert_entry(
                pki.self_signed, subject="CN=EX01", issuer="CN=EX01", exportable=False, name="Microsoft Exchange"
            ),
        ],
        "CA": [cert_entry(pki.issuing_ca, subject=issuing_subject, issuer=policy_subject)],
        "Root": [cert_entry(pki.root, subject=root_subject, issuer=root_subject)],
        "AuthRoot": [],
    }
    host = {
        "computer_name": SERVER,
        "fqdn": "ex01.contoso.com",
        "time_utc": "2026-11-28T08:00:00Z",
        "os": "Windows Server 2019 Standard",
        "os_build": 17763,
        "powershell_version": "5.1.17763.1",
        "dotnet_release": 528049,
        "fips_policy": False,
        "logon": {
            "user": "CONTOSO\\svc-certwarden",
            "user_sid": "S-1-5-21-1004336348-1177238915-682003330-1105",
            "authentication_type": "NTLM",
            "impersonation_level": "Impersonation",
        },
        "winrm": {"max_memory_per_shell_mb": 1024, "max_envelope_size_kb": 500},
        "folders": {
            "windows": "C:\\Windows",
            "program_files": "C:\\Program Files",
            "program_files_x86": "C:\\Program Files (x86)",
            "exchange_install": "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\",
        },
    }
    iis = [
        {
            "site": "Default Web Site",
            "binding": "*:443:",
            "port": 443,
            "host_header": "",
            "thumbprint": pki.leaf.thumbprint,
            "store": "My",
        },
        {
            "site": "Exchange Back End",
            "binding": "*:444:",
            "port": 444,
            "host_header": "",
            "thumbprint": pki.self_signed.thumbprint,
            "store": "My",
        },
    ]
    exchange = {
        "server": SERVER,
        "role": "Mailbox",
        "version": "Version 15.2 (Build 1544.4)",
        "certificates": [
            {
                "thumbprint": pki.leaf.thumbprint,
                "services": ["IIS", "SMTP"],
                "status": "Valid",
                "root_ca_type": "ThirdParty",
            },
            {"thumbprint": pki.renewed.thumbprint, "services": [], "status": "Valid", "root_ca_type": "ThirdParty"},
            {
                "thumbprint": pki.self_signed.thumbprint,
                "services": ["IMAP", "POP", "IIS", "SMTP"],
                "status": "Valid",
                "root_ca_type": "None",
            },
        ],
        "send_connectors": [
            {
                "identity": "Outbound to Office 365 - 6d5e",
                "name": "Outbound to Office 365 - 6d5e",
                "fqdn": "mail.contoso.com",
                "tls_certificate_name": tls_name,
                "require_tls": True,
                "tls_auth_level": "DomainValidation",
                "tls_domain": "mail.protection.outlook.com",
                "cloud_services_mail_enabled": True,
                "smart_hosts": ["contoso-com.mail.protection.outlook.com"],
                "source_transport_servers": [SERVER],
                "protocol_logging_level": "None",
                "enabled": True,
            }
        ],
        "receive_connectors": [
            {
                "identity": f"{SERVER}\\Default Frontend {SERVER}",
                "name": f"Default Frontend {SERVER}",
                "server": SERVER,
                "fqdn": "mail.contoso.com",
                "tls_certificate_name": tls_name,
                "auth_mechanism": ["Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer"],
                "bindings": ["0.0.0.0:25", "[::]:25"],
                "protocol_logging_level": "Verbose",
                "enabled": True,
            }
        ],
        "hybrid_configuration": {
            "tls_certificate_name": tls_name,
            "sending_transport_servers": [SERVER],
            "receiving_transport_servers": [SERVER],
            "edge_transport_servers": [],
        },
        "auth_config": {"current": None, "next": None, "previous": None},
        "federation_trusts": [],
        "transport_service": {
            "internal_transport_certificate_thumbprint": pki.self_signed.thumbprint,
            "send_protocol_log_path": "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs"
            "\\Hub\\ProtocolLog\\SmtpSend",
            "receive_protocol_log_path": "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles"
            "\\Logs\\Hub\\ProtocolLog\\SmtpReceive",
            "frontend_send_protocol_log_path": "C:\\Program Files\\Microsoft\\Exchange Server\\V15"
            "\\TransportRoles\\Logs\\FrontEnd\\ProtocolLog\\SmtpSend",
            "frontend_receive_protocol_log_path": "C:\\Program Files\\Microsoft\\Exchange Server\\V15"
            "\\TransportRoles\\Logs\\FrontEnd\\ProtocolLog\\SmtpReceive",
        },
    }
    exchange_load = {
        "installed": True,
        "role": "Mailbox",
        "method": "remote_credential",
        "milliseconds": 2500,
        "cause": None,
        "message": None,
        "cmdlets": dict.fromkeys(AGENT_CMDLETS, True),
    }
    read_result = {
        "host": host,
        "stores": stores,
        "exchange": exchange,
        "exchange_load": exchange_load,
        "iis_bindings": iis,
        "http_sys_bindings": [],
        "backup_folder": None,
    }
    examples: dict[str, dict] = {
        "read_ok": {
            "description": "read on an Exchange server: a renewed copy without its key in My, a "
            "chain missing its policy CA",
            "request": request("read", {}),
            "response": response("read", read_result),
            # Not part of the exchange: the private keys of this state's certificates
            # that have one, so that the simulated server can rebuild the state every
            # example starts from (tests/integration/test_lab_contract.py).
            "host_keys": {
                issued.thumbprint: issued.key_pem().decode("ascii") for issued in (pki.leaf, pki.self_signed)
            },
        },
        "read_without_exchange": {
            "description": "read on a server without the Exchange management tools: exchange is null, not a failure",
            "request": request("read", {}),
            "response": response(
                "read",
                {
                    **read_result,
                    # No Exchange setup ran, so there is no ExchangeInstallPath.
                    "host": {**host, "folders": {**host["folders"], "exchange_install": None}},
                    "exchange": None,
                    "iis_bindings": [],
                    "exchange_load": {
                        **exchange_load,
                        "installed": False,
                        "role": None,
                        "method": None,
                        "milliseconds": 0,
                        "cmdlets": None,
                    },
                },
            ),
        },
        "read_version_mismatch": {
            "description": "a request for another agent version",
            "request": {"agent_version": "0", "operation": "read", "options": {}},
            "response": response(
                "read", None, ("version_mismatch", "the request is for agent version '0', this agent is version 1")
            ),
        },
        "unknown_operation": {
            "description": "an operation the agent does not know",
            "request": request("frobnicate", {}),
            "response": response("frobnicate", None, ("bad_request", "unknown operation 'frobnicate'")),
        },
        "read_access_denied": {
            "description": "the account cannot open a LocalMachine store",
            "request": request("read", {}),
            "response": response("read", None, ("access_denied", "Access is denied.")),
        },
    }

    def add_apply(name: str, description: str, steps: list[dict], statuses: list[tuple[str, str | None, Any]]) -> None:
        req, resp = apply_pair(steps, statuses)
        examples[name] = {"description": description, "request": req, "response": resp}

    policy = pki.policy_ca
    add_apply(
        "apply_install_intermediate",
        "install a missing intermediate into LocalMachine\\CA",
        [{"id": "s1", "action": "install_intermediate", "thumbprint": policy.thumbprint, "der_b64": b64(policy.der)}],
        [("changed", None, None)],
    )
    # read_after: the same step, then the agent's fresh read of the server (the policy CA now in CA).
    req, resp = apply_pair(
        [{"id": "s1", "action": "install_intermediate", "thumbprint": policy.thumbprint, "der_b64": b64(policy.der)}],
        [("changed", None, None)],
    )
    req["options"]["read_after"] = True
    after_ca = [*stores["CA"], cert_entry(policy, subject=policy_subject, issuer=root_subject)]
    resp["result"].update(after={**read_result, "stores": {**stores, "CA": after_ca}}, after_error=None)
    examples["apply_then_read"] = {
        "description": "install the missing intermediate, then read the whole server again in the same invocation",
        "request": req,
        "response": resp,
    }
    add_apply(
        "apply_install_intermediate_unchanged",
        "the intermediate is already in LocalMachine\\CA",
        [
            {
                "id": "s1",
                "action": "install_intermediate",
                "thumbprint": pki.issuing_ca.thumbprint,
                "der_b64": b64(pki.issuing_ca.der),
            }
        ],
        [("unchanged", None, None)],
    )
    add_apply(
        "apply_install_root",
        "install a root into LocalMachine\\Root",
        [
            {
                "id": "s1",
                "action": "install_root",
                "thumbprint": pki.legacy_root.thumbprint,
                "der_b64": b64(pki.legacy_root.der),
            }
        ],
        [("changed", None, None)],
    )
    add_apply(
        "apply_import_certificate",
        "restore a public certificate (DER backup) into My",
        [
            {
                "id": "s1",
                "action": "import_certificate",
                "thumbprint": pki.expired.thumbprint,
                "store": "My",
                "der_b64": b64(pki.expired.der),
            }
        ],
        [("changed", None, None)],
    )
    pfx = pki.renewed.pfx(PFX_PASSWORD.encode())
    add_apply(
        "apply_import_pfx",
        "import the renewed certificate with its key; the PFX holds only the leaf",
        [
            {
                "id": "s1",
                "action": "import_pfx",
                "thumbprint": pki.renewed.thumbprint,
                "pfx_b64": b64(pfx),
                "password": PFX_PASSWORD,
            }
        ],
        [("changed", None, None)],
    )
    add_apply(
        "apply_enable_services",
        "enable IMAP on the bound certificate as well: services are additive (IIS and SMTP stay)",
        [{"id": "s1", "action": "enable_services", "thumbprint": pki.leaf.thumbprint, "services": ["SMTP", "IMAP"]}],
        [("changed", None, None)],
    )
    add_apply(
        "apply_set_connector",
        "point the send connector at another certificate name; the receive connector already names its own",
        [
            {
                "id": "s1",
                "action": "set_connector",
                "kind": "send",
                "identity": "Outbound to Office 365 - 6d5e",
                "tls_certificate_name": other_name,
            },
            {
                "id": "s2",
                "action": "set_connector",
                "kind": "receive",
                "identity": f"{SERVER}\\Default Frontend {SERVER}",
                "tls_certificate_name": tls_name,
            },
        ],
        [("changed", None, None), ("unchanged", None, None)],
    )
    add_apply(
        "apply_set_hybrid",
        "set the hybrid configuration's TlsCertificateName to another certificate name",
        [{"id": "s1", "action": "set_hybrid", "tls_certificate_name": other_name}],
        [("changed", None, None)],
    )
    add_apply(
        "apply_set_iis_binding",
        "bind the renewed certificate to the Default Web Site's https binding",
        [
            {
                "id": "s1",
                "action": "set_iis_binding",
                "site": "Default Web Site",
                "binding": "*:443:",
                "thumbprint": pki.renewed.thumbprint,
            }
        ],
        [("changed", None, None)],
    )
    add_apply(
        "apply_set_protocol_logging",
        "turn on verbose protocol logging on the send connector",
        [
            {
                "id": "s1",
                "action": "set_protocol_logging",
                "kind": "send",
                "identity": "Outbound to Office 365 - 6d5e",
                "level": "Verbose",
            }
        ],
        [("changed", None, None)],
    )
    backup_dir = "C:\\ProgramData\\certwarden\\backup"
    pfx_backup = pki.leaf.pfx(PFX_PASSWORD.encode())
    add_apply(
        "apply_backup_pfx",
        "back up a certificate with an exportable key as an AES256_SHA256 PFX",
        [
            {
                "id": "s1",
                "action": "backup",
                "thumbprint": pki.leaf.thumbprint,
                "store": "My",
                "directory": backup_dir,
                "password": PFX_PASSWORD,
                "folder": "create",
            }
        ],
        [
            (
                "changed",
                None,
                {
                    "path": f"{backup_dir}\\{pki.leaf.thumbprint}.pfx",
                    "kind": "pfx",
                    "thumbprint_read_back": pki.leaf.thumbprint,
                    "sha256": hashlib.sha256(pfx_backup).hexdigest().upper(),
                    "content_b64": b64(pfx_backup),
                    "pfx_algorithm": "AES256_SHA256",
                },
            )
        ],
    )
    without_key = pki.renewed.without_key()
    add_apply(
        "apply_backup_der",
        "back up a copy without a private key: only the public certificate",
        [
            {
                "id": "s1",
                "action": "backup",
                "thumbprint": without_key.thumbprint,
                "store": "My",
                "directory": backup_dir,
                "password": None,
                "folder": "create",
            }
        ],
        [
            (
                "changed",
                None,
                {
                    "path": f"{backup_dir}\\{without_key.thumbprint}.cer",
                    "kind": "der",
                    "thumbprint_read_back": without_key.thumbprint,
                    "sha256": hashlib.sha256(without_key.der).hexdigest().upper(),
                    "content_b64": b64(without_key.der),
                    "pfx_algorithm": None,
                },
            )
        ],
    )
    add_apply(
        "apply_remove",
        "remove the keyless duplicate from the store directly; removing it again is unchanged",
        [
            {"id": "s1", "action": "remove", "thumbprint": pki.renewed.thumbprint, "store": "My"},
            {"id": "s2", "action": "remove", "thumbprint": pki.renewed.thumbprint, "store": "My"},
        ],
        [("changed", None, None), ("unchanged", None, None)],
    )
    add_apply(
        "apply_restart_service",
        "restart the Front End Transport service so that it loads its certificate and chain again",
        [{"id": "s1", "action": "restart_service", "service": "MSExchangeFrontEndTransport"}],
        [("changed", None, None)],
    )
    add_apply(
        "apply_failure_stops_the_run",
        "the second step fails: the third is not run",
        [
            {"id": "s1", "action": "install_intermediate", "thumbprint": policy.thumbprint, "der_b64": b64(policy.der)},
            {
                "id": "s2",
                "action": "backup",
                "thumbprint": "0" * 40,
                "store": "My",
                "directory": backup_dir,
                "password": None,
                "folder": "create",
            },
            {"id": "s3", "action": "remove", "thumbprint": pki.expired.thumbprint, "store": "My"},
        ],
        [
            ("changed", None, None),
            ("failed", f"there is no verified backup of {'0' * 40} (LocalMachine\\My) in {backup_dir}", None),
            ("not_run", None, None),
        ],
    )
    examples["apply_exchange_unavailable"] = {
        "description": "an Exchange step on a server without the Exchange management tools: nothing runs",
        "request": request(
            "apply", {"steps": [{"id": "s1", "action": "set_hybrid", "tls_certificate_name": tls_name}]}
        ),
        "response": response(
            "apply", None, ("exchange_unavailable", "the Exchange management tools are not available on EX01")
        ),
    }
    examples["apply_unknown_action"] = {
        "description": "a step the agent does not know: nothing runs",
        "request": request("apply", {"steps": [{"id": "s1", "action": "format_disk"}]}),
        "response": response("apply", None, ("bad_request", "step 's1' has unknown action 'format_disk'")),
    }

    send_log = (
        b"#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send Protocol Log\r\n"
        b"#Date: 2026-11-28T07:00:00.000Z\r\n"
        b"#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,"
        b"event,data,context\r\n"
        b"2026-11-28T07:00:01.000Z,Outbound to Office 365 - 6d5e,08DC1,0,,52.101.1.1:25,*,,attempting to connect\r\n"
        b"2026-11-28T07:00:01.100Z,Outbound to Office 365 - 6d5e,08DC1,9,,52.101.1.1:25,*,,Sending certificate\r\n"
        b"2026-11-28T07:00:01.200Z,Outbound to Office 365 - 6d5e,08DC1,15,,52.101.1.1:25,*,,"
        b"TLS negotiation failed with error NoCredentials\r\n"
    )
    send_dir = exchange["transport_service"]["send_protocol_log_path"]
    recv_dir = exchange["transport_service"]["receive_protocol_log_path"]
    older = b"#Software: Microsoft Exchange Server\r\n" + b"x" * 64

    def log_file(directory: str, name: str, data: bytes, modified: str, size: int | None = None) -> dict:
        return {
            "path": f"{directory}\\{name}",
            "name": name,
            "size": size or len(data),
            "modified_utc": modified,
            "content_b64": b64(data),
            "truncated": size is not None and size > len(data),
        }

    examples["read_logs_default_paths"] = {
        "description": "paths null: the transport service's send and receive protocol log folders",
        "request": request("read_logs", {"paths": None, "since": "2026-11-27T00:00:00Z", "max_bytes": 50000000}),
        "response": response(
            "read_logs",
            {
                "files": [
                    log_file(recv_dir, "RECV20261127-1.log", older, "2026-11-27T23:59:00Z"),
                    log_file(send_dir, "SEND20261128-1.log", send_log, "2026-11-28T07:00:01Z"),
                ],
                "dropped_files": 0,
                "missing_paths": [],
            },
        ),
    }
    examples["read_logs_truncated"] = {
        "description": "max_bytes smaller than the logs: the newest file's tail is kept, older files are dropped",
        "request": request("read_logs", {"paths": [send_dir, "D:\\NoSuchFolder"], "since": None, "max_bytes": 100}),
        "response": response(
            "read_logs",
            {
                "files": [
                    log_file(
                        send_dir, "SEND20261128-1.log", send_log[-100:], "2026-11-28T07:00:01Z", size=len(send_log)
                    )
                ],
                "dropped_files": 1,
                "missing_paths": ["D:\\NoSuchFolder"],
            },
        ),
    }
    examples["read_logs_exchange_unavailable"] = {
        "description": "paths null on a server without Exchange: the log folders cannot be found",
        "request": request("read_logs", {"paths": None, "since": None, "max_bytes": 50000000}),
        "response": response(
            "read_logs", None, ("exchange_unavailable", "the Exchange management tools are not available on EX01")
        ),
    }
    return examples


def main() -> None:
    EXAMPLES.mkdir(exist_ok=True)
    for name, example in build(TestPki(now=NOW)).items():
        text = json.dumps(example, indent=2, ensure_ascii=True) + "\n"
        (EXAMPLES / f"{name}.json").write_text(text, encoding="ascii")


if __name__ == "__main__":
    main()
