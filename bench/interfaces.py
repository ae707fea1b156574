"""Two ways to hand a role's arguments to cert_compliance, for bench_winrm ``--interfaces``.

The compliance role templates each option from its own variable (six templates per task
here, ``lab_runs.compliance_args``). The alternative: the arguments in one dictionary
variable, a literal per host as group_vars or host_vars would hold it, given whole through
``module_defaults`` (one template, and no "template for task args is unsafe" warning,
which ``cert_compliance: "{{ var }}"`` gets). A role's argument spec can still validate
that variable (``type: dict`` with ``options``).
"""

from __future__ import annotations

from typing import Any

import yaml

DICT_TASK = "cert_compliance check, one dict variable"
DICT_VARIABLE = "bench_compliance"


def dict_task() -> dict[str, Any]:
    return {
        "name": DICT_TASK,
        "certwarden.exchange.cert_compliance": {},
        "module_defaults": {"certwarden.exchange.cert_compliance": "{{ " + DICT_VARIABLE + " }}"},
        "check_mode": True,
    }


def write_dict_variables(lab: Any) -> None:
    """host_vars beside the lab's inventory: each host's compliance arguments as one literal dictionary."""
    inventory = yaml.safe_load(lab.inventory_path.read_text(encoding="utf-8"))
    group = inventory["all"]["children"]["exchange"]
    folder = lab.inventory_path.parent / "host_vars"
    folder.mkdir(exist_ok=True)
    for host, host_vars in group["hosts"].items():
        values = {**group["vars"], **host_vars}
        literal = {
            "certificate": {"thumbprint": values["certwarden_intended_thumbprint"]},
            "chain": values["certwarden_chain_bundle"],
            "services": values["certwarden_services"],
            "send_connectors": values["certwarden_send_connectors"],
            "receive_connectors": [f"Default Frontend {values['certwarden_computer_name']}"],
            "hybrid_configuration": True,
        }
        (folder / f"{host}.yml").write_text(yaml.safe_dump({DICT_VARIABLE: literal}), encoding="utf-8")
