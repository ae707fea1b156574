"""The declared state of a lab host as plays: cert_compliance and cert_restore with the lab inventory's vars.

Shared by the integration and reliability suites, so that every suite declares
the same state the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

BACKUP_PASSWORD = "backup-secret-Rl7"
COMPLIANCE_TASK = "compliance"
RESTORE_TASK = "restore"


def compliance_args(backup_dir: Path, **overrides: Any) -> dict[str, Any]:
    """cert_compliance options for a lab host (its inventory vars give the certificate and chain)."""
    return {
        "certificate": {
            "thumbprint": "{{ certwarden_intended_thumbprint }}",
            "pfx": "{{ certwarden_pfx_path }}",
            "password": "{{ certwarden_pfx_password }}",
        },
        "chain": "{{ certwarden_chain_bundle }}",
        "services": "{{ certwarden_services }}",
        "send_connectors": "{{ certwarden_send_connectors }}",
        "receive_connectors": ["Default Frontend {{ certwarden_computer_name }}"],
        "hybrid_configuration": True,
        "iis_bindings": ["Default Web Site:443"],
        "backup": {"local_directory": str(backup_dir), "password": BACKUP_PASSWORD},
        **overrides,
    }


def compliance_play(backup_dir: Path, **overrides: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": "certificate compliance",
            "hosts": "exchange",
            "gather_facts": False,
            "tasks": [
                {
                    "name": COMPLIANCE_TASK,
                    "certwarden.exchange.cert_compliance": compliance_args(backup_dir, **overrides),
                }
            ],
        }
    ]


def restore_play(backup_dir: Path) -> list[dict[str, Any]]:
    return [
        {
            "name": "restore",
            "hosts": "exchange",
            "gather_facts": False,
            "tasks": [
                {
                    "name": RESTORE_TASK,
                    "certwarden.exchange.cert_restore": {"src": str(backup_dir), "password": BACKUP_PASSWORD},
                }
            ],
        }
    ]
