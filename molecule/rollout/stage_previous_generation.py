"""Turn a healthy lab into generation 1: every server uses the previous certificate.

Usage: python stage_previous_generation.py LAB_DIR (run from the repository root).

The lab's healthy servers already run generation 2 (pki 'renewed'). This swaps
it, on every host, for generation 1 (pki 'leaf': same issuer and subject, with
its key), enabled for IIS and SMTP and bound in IIS, so that the rollout has a
plain renewal to do. It is what tests/fleet/test_rollout.py prepares.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cryptography import x509

from tests.lab.state import HostState


def stage(lab_dir: Path) -> list[str]:
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


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not (Path(argv[0]) / "scenario.json").is_file():
        print("usage: stage_previous_generation.py LAB_DIR (a lab folder with scenario.json)", file=sys.stderr)
        return 2
    hosts = stage(Path(argv[0]))
    print(f"generation 1 (pki 'leaf') staged on {', '.join(hosts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
