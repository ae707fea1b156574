"""Put a lab back one certificate generation: every server runs the previous certificate.

The healthy scenario's servers already run generation 2 (pki ``renewed``). For a
rollout to have a plain renewal to do (same issuer and subject), each host gets
generation 1 (pki ``leaf``, with its key) in its place: in My, enabled for IIS
and SMTP, and bound in IIS. The connectors' TlsCertificateName names both
generations, so it stays as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography import x509

from tests.lab.state import HostState


def stage_previous_generation(lab_dir: Path) -> list[str]:
    """Put generation 1 in place of generation 2 on every host; return the host names."""
    record = json.loads((lab_dir / "scenario.json").read_text(encoding="utf-8"))
    generation_1 = record["pki"]["leaf"]
    generation_2 = record["pki"]["renewed"]
    certificate = x509.load_pem_x509_certificate((lab_dir / "pki" / "leaf.pem").read_bytes())
    key_pem = (lab_dir / "pki" / "leaf.key").read_bytes()
    for name in record["hosts"]:
        host = HostState(lab_dir / "hosts" / name)
        host.remove_certificate("My", generation_2)
        host.add_certificate("My", certificate, key_pem, "previous", True)
        services = host.exchange_certificates()
        services.pop(generation_2, None)
        services[generation_1] = {"services": ["IIS", "SMTP"]}
        host.write_exchange_certificates(services)
        host.write_iis_bindings(
            [
                dict(binding, thumbprint=generation_1) if binding["thumbprint"] == generation_2 else binding
                for binding in host.iis_bindings()
            ]
        )
    return sorted(record["hosts"])
