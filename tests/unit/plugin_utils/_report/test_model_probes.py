"""cert_compliance's probes reach the report as the smtp_tls_probe results they are, as if each were its own task."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.model import FleetReport

MOMENT = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
STORED = {"certificate": "A" * 40, "chain": ["B" * 40], "complete": True}
CHECK = {
    "changed": True,
    "compliant": False,
    "findings": [{"code": "duplicate_certificate", "severity": "error", "message": "EX1: two copies"}],
    "plan": [],
    "host": {"computer_name": "EX1", "fqdn": "ex1.contoso.com"},
    "certificates": [{"thumbprint": "A" * 40}],
    "presentation": {"SMTP": STORED, "IIS": STORED},
}
SMTP = {
    "changed": False,
    "compliant": False,
    "endpoint": "192.0.2.1:25",
    "protocol": "SMTP",
    "chain": [{"thumbprint": "C" * 40, "is_self_signed": False}],
    "stored": STORED,
    "findings": [{"code": "wrong_certificate_presented", "severity": "error", "message": "192.0.2.1:25 presented C"}],
}
IIS = {
    "changed": False,
    "compliant": True,
    "endpoint": "192.0.2.1:443",
    "protocol": "IIS",
    "chain": [{"thumbprint": "A" * 40}, {"thumbprint": "B" * 40}],
    "stored": STORED,
    "findings": [],
}


def _document(results: list[tuple[str, str, str, dict[str, Any]]]) -> dict[str, Any]:
    report = FleetReport(lambda: MOMENT)
    for action, task, status, result in results:
        report.add_result("ex1", action, task=task, play="nightly", status=status, result=result)
    document = report.to_dict()
    for server in document["servers"]:
        for item in server["findings"] + server["errors"]:
            item.pop("task")
        for check in server["checks"]:
            check.pop("task")
            for item in check["findings"]:
                item.pop("task")
    return document


def test_a_check_with_its_probes_reports_as_the_check_and_two_probe_tasks() -> None:
    # The role's probe tasks were changed whenever the server drifted (their changed_when); so is the one task now.
    separate = _document(
        [
            ("certwarden.exchange.cert_compliance", "check", "ok", CHECK),
            ("certwarden.exchange.smtp_tls_probe", "probe smtp", "ok", {**SMTP, "changed": True}),
            ("certwarden.exchange.smtp_tls_probe", "probe iis", "ok", {**IIS, "changed": True}),
        ]
    )
    together = _document(
        [("certwarden.exchange.cert_compliance", "check", "ok", {**CHECK, "probes": [SMTP, {**IIS, "failed": False}]})]
    )
    assert together == separate
    server = together["servers"][0]
    assert [row["protocol"] for row in server["wire"]] == ["SMTP", "IIS"]
    assert {f["code"] for f in server["findings"]} == {"duplicate_certificate", "wrong_certificate_presented"}
    assert server["status"] == "drifting"


def test_a_probe_that_could_not_see_its_endpoint_fails_the_server_with_its_message() -> None:
    unreachable = {
        "failed": True,
        "changed": False,
        "compliant": False,
        "msg": "smtp_tls_probe: 192.0.2.1:443: connection refused",
        "endpoint": "192.0.2.1:443",
        "protocol": "IIS",
    }
    probes = [{**SMTP, "findings": []}, unreachable]
    document = _document([("cert_compliance", "check", "ok", {**CHECK, "findings": [], "probes": probes})])
    server = document["servers"][0]
    assert server["status"] == "failed"
    assert server["errors"] == [{"msg": "smtp_tls_probe: 192.0.2.1:443: connection refused"}]
    assert [(c["module"], c["status"]) for c in server["checks"]] == [
        ("cert_compliance", "ok"),
        ("smtp_tls_probe", "ok"),
        ("smtp_tls_probe", "failed"),
    ]
    assert [row["protocol"] for row in server["wire"]] == ["SMTP"]  # nothing was seen on the other
