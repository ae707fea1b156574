# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""junit.xml: one test suite per server, one test case per finding code checked on it.

A CI server (Jenkins, GitLab, Azure DevOps) then shows every server and every
check, failing exactly where an error-severity finding remains. Warnings pass
and are written to the case's system-out; an unreachable server is one case
with an error, and a task that failed without evidence is an error case too.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.findings import CODES

# What each module checks, so that a passing case means "checked and fine", not "never looked".
PROBE_CODES = (
    "wrong_certificate_presented",
    "incomplete_chain",
    "untrusted_root",
    "expired",
    "not_yet_valid",
    "name_not_covered",
    "starttls_not_offered",
    "chain_invalid",
    "restart_pending",
)
CHECKED_CODES: dict[str, tuple[str, ...]] = {
    "cert_compliance": tuple(CODES),
    "cert_facts": tuple(CODES),
    "smtp_tls_probe": PROBE_CODES,
    "protocol_log": ("tls_failure_logged",),
}


# Characters XML 1.0 cannot carry at all (a certificate field may hold them): replaced, not escaped.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _finding_text(finding: dict[str, Any]) -> str:
    return xml_safe(
        f"{finding['message']}\nfix: {finding.get('fix') or 'needs a person'}\n"
        f"found by: {finding['module']} ({finding['task']})\n"
        f"evidence: {json.dumps(finding.get('evidence') or {}, indent=2, sort_keys=True, default=str)}"
    )


def _server_suite(server: dict[str, Any], timestamp: str) -> ET.Element:
    suite = ET.Element("testsuite", name=server["name"], timestamp=timestamp, hostname=server.get("fqdn") or "")
    classname = f"certwarden.{server['name']}"
    cases: list[ET.Element] = []
    if server["status"] == "unreachable":
        case = ET.Element("testcase", classname=classname, name="reachable", time="0")
        reason = xml_safe(server["unreachable"] or "unreachable")
        ET.SubElement(case, "error", message=reason, type="unreachable").text = reason
        cases.append(case)
    else:
        modules = {check["module"] for check in server["checks"]}
        codes = {code for module in modules for code in CHECKED_CODES.get(module, ())}
        codes |= {f["code"] for f in server["findings"]}
        for code in sorted(codes):
            case = ET.Element("testcase", classname=classname, name=code, time="0")
            found = [f for f in server["findings"] if f["code"] == code]
            errors = [f for f in found if f["severity"] == "error"]
            if errors:
                failure = ET.SubElement(case, "failure", message=xml_safe(errors[0]["message"]), type=code)
                failure.text = "\n\n".join(_finding_text(f) for f in errors)
            elif found:
                ET.SubElement(case, "system-out").text = "\n\n".join(_finding_text(f) for f in found)
            cases.append(case)
        for error in server["errors"]:
            case = ET.Element("testcase", classname=classname, name=f"task: {error['task']}", time="0")
            ET.SubElement(case, "error", message=xml_safe(error["msg"]), type="task_failed").text = xml_safe(
                error["msg"]
            )
            cases.append(case)
    suite.extend(cases)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", "0")
    suite.set("time", "0")
    return suite


def render_junit(report: dict[str, Any]) -> str:
    root = ET.Element("testsuites", name=f"certwarden compliance {report.get('playbook') or ''}".strip())
    timestamp = report["started_utc"].rstrip("Z")
    suites = [_server_suite(server, timestamp) for server in report["servers"]]
    root.extend(suites)
    for attribute in ("tests", "failures", "errors"):
        root.set(attribute, str(sum(int(s.get(attribute) or 0) for s in suites)))
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
