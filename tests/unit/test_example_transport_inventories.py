"""inventories/example/transports: one inventory per way of connecting, each naming its mechanism."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "inventories" / "example" / "transports"
EXPECTED = {
    "basic.yml": ("winrm", "basic"),
    "ntlm.yml": ("winrm", "ntlm"),
    "kerberos.yml": ("winrm", "kerberos"),
    "credssp.yml": ("winrm", "credssp"),
    "https.yml": ("winrm", "ntlm"),
    "psrp.yml": ("psrp", None),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_inventory_names_its_transport(name: str) -> None:
    document = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    group = document["all"]["children"]["exchange"]
    assert group["hosts"]
    variables = group["vars"]
    connection, transport = EXPECTED[name]
    assert variables["ansible_connection"] == connection
    if transport:
        assert variables["ansible_winrm_transport"] == transport
    if variables.get("ansible_winrm_scheme") == "https":
        assert variables["ansible_winrm_server_cert_validation"] == "validate"
    assert "vault_" in variables["ansible_password"]  # never a literal password in an example


def test_every_example_is_listed() -> None:
    assert {p.name for p in EXAMPLES.glob("*.yml")} == set(EXPECTED)
