"""A lab whose hosts are test cases: one running server process, host folders rewritten per case.

Starting a lab costs a process and a fresh PKI; rewriting a host folder costs a
few file writes (the simulated server re-reads every file on every request).
So the reliability tests start one ``fleet`` lab of enough ports once per
module and turn hosts into cases: each case host is a copy of one scenario's
broken server, in an organisation of its own (connectors are
organisation-wide, so a case must not see another case's repointing), with its
own ``faults.json``. One ansible-playbook run then exercises every case at
once, the hosts in parallel.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.lab import LabHandle, start_lab
from tests.lab.inventory import inventory_document
from tests.lab.observer import observations_path
from tests.lab.scenarios import (
    BREAKERS,
    LAB_PASSWORD,
    PFX_PASSWORD,
    HostSpec,
    MyCert,
    _write_host,
    _write_org,
    _write_pki,
    healthy_host,
    host_record,
)
from tests.lab.state import read_json, write_bytes_atomic, write_json
from tests.support.pki import TestPki

# Every broken server the lab can build, plus a healthy one.
KINDS = ("healthy", *BREAKERS)
# A healthy server before the renewal: it uses the previous certificate (pki 'leaf', same issuer and
# subject as 'renewed', so the connectors already name both); a rollout brings 'renewed'. Not in KINDS:
# for cert_compliance it is simply drift.
BEFORE_RENEWAL = "before-renewal"


@dataclass(frozen=True)
class Case:
    """One host of a case lab: which broken server it is and what faults it carries."""

    kind: str
    faults: dict[str, Any] | None = None
    label: str = ""
    host_vars: dict[str, Any] | None = None  # merged into the host's inventory entry (timeouts, a dead port)


@dataclass
class CaseLab:
    lab: LabHandle
    pki: TestPki = field(default_factory=TestPki)
    pki_written: bool = False

    @property
    def dir(self) -> Path:
        return self.lab.dir

    @property
    def slots(self) -> list[str]:
        return list(self.lab.hosts)

    def host_dir(self, name: str) -> Path:
        return self.lab.host_dir(name)

    def write_cases(self, cases: list[Case], inventory: Path, customise: Any = None) -> dict[str, Case]:
        """Turn the first ``len(cases)`` hosts into the cases; returns host name -> case.

        ``customise(spec, case)`` may edit each HostSpec before it is written.
        The inventory at ``inventory`` names only these hosts.
        """
        if len(cases) > len(self.slots):
            raise ValueError(f"{len(cases)} cases but the lab has only {len(self.slots)} hosts")
        if not self.pki_written:
            _write_pki(self.dir, self.pki)
            self.pki_written = True
        assigned: dict[str, Case] = {}
        records: dict[str, Any] = {}
        for name, case in zip(self.slots, cases, strict=False):
            spec = self._spec(name, case)
            if customise is not None:
                customise(spec, case)
            self._write(name, spec, case)
            assigned[name] = case
            records[name] = host_record(spec, self.pki)
        for name in self.slots:  # the inventory builder wants a record for every host of the lab
            records.setdefault(name, {"intended": "", "intended_label": "renewed", "thumbprints": {}})
        scenario = read_json(self.dir / "scenario.json")
        scenario.update(scenario="cases", pfx_password=PFX_PASSWORD, hosts=records)
        scenario["pki"] = {label: getattr(self.pki, label).thumbprint for label in scenario["pki"]}
        write_json(self.dir / "scenario.json", scenario)
        document = inventory_document(self.dir)
        group = document["all"]["children"]["exchange"]
        group["hosts"] = {name: {**group["hosts"][name], **(case.host_vars or {})} for name, case in assigned.items()}
        write_bytes_atomic(inventory, yaml.safe_dump(document, sort_keys=False).encode("utf-8"))
        return assigned

    def _spec(self, name: str, case: Case) -> HostSpec:
        spec = healthy_host(self.pki, name, name, org=f"org-{name.lower()}")
        if case.kind == BEFORE_RENEWAL:
            _on_previous_certificate(self.pki, spec)
        elif case.kind != "healthy":
            BREAKERS[case.kind](self.pki, spec)
        return spec

    def _write(self, name: str, spec: HostSpec, case: Case) -> None:
        host_dir = self.host_dir(name)
        info = read_json(host_dir / "host.json")
        shutil.rmtree(host_dir)
        shutil.rmtree(observations_path(host_dir).parent, ignore_errors=True)
        shutil.rmtree(self.dir / "orgs" / spec.org, ignore_errors=True)
        _write_host(self.dir, spec, info["scheme"], LAB_PASSWORD)
        written = read_json(host_dir / "host.json")
        written["port"] = info["port"]
        write_json(host_dir / "host.json", written)
        _write_org(self.dir, spec.org, [spec], self.pki)
        if case.faults:
            write_json(host_dir / "faults.json", case.faults)


def _on_previous_certificate(pki: TestPki, spec: HostSpec) -> None:
    spec.my.pop(pki.renewed.thumbprint)
    spec.put(MyCert(pki.leaf, services=["IIS", "SMTP"], friendly_name=f"{pki.fqdn} (previous)"))
    spec.iis_thumbprint = pki.leaf.thumbprint
    spec.roles.update(old=pki.leaf.thumbprint)


def start_case_lab(folder: Path, hosts: int) -> CaseLab:
    """A running lab with ``hosts`` ports (healthy until cases are written); call ``.lab.stop()``."""
    return CaseLab(start_lab(folder, "fleet", hosts=hosts))


def store_contents(host_dir: Path, store: str = "My") -> dict[str, tuple[bytes, bytes | None]]:
    """thumbprint -> (DER bytes, private key bytes or None) of every certificate in a store."""
    folder = host_dir / "stores" / store
    found = {}
    for cer in folder.glob("*.cer"):
        key = cer.with_suffix(".key")
        found[cer.stem] = (cer.read_bytes(), key.read_bytes() if key.exists() else None)
    return found
