"""The HTML report at fleet size in headless Chromium: time to render it, to filter it and to open a server.

The report is made the way the callback makes it: synthetic cert_compliance
results (shaped like the module's, with findings, evidence and certificates)
fed through ``FleetReport.add_result`` and ``render_html``. A copy of the page
gets a small measuring script appended (the report itself is unchanged); it
records, with the page's own ``performance.now()`` (milliseconds since
navigation start): the end of the load event with a forced layout, then the
time of each filter change (status, finding, server name) including the
relayout, and the servers shown after each, then the time to open one drifting
server (its findings are made from the section's ``<noscript>`` then) and the
findings it shows, into a ``<pre id="bench">`` that ``--dump-dom`` prints.

    python -m bench.bench_report                        # --servers 1000 --repeat 5
    python -m bench.bench_report --servers 20 --repeat 1 --json /tmp/x.json   # smoke
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.lab_runs import RESULTS, machine, median, write_result
from tests.support.chromium import chromium_path, headless_argv

QUICK_ARGV = ["--servers", "20", "--repeat", "1", "--json", str(RESULTS / "report-quick.json")]
TARGET_MS = 2000.0
# Finding codes a drifting server shows, with their share of drifting servers.
DRIFT = [
    ("duplicate_certificate", "error", 0.5),
    ("wrong_certificate_presented", "error", 0.3),
    ("incomplete_chain", "error", 0.2),
    ("service_not_enabled", "error", 0.2),
    ("connector_mismatch", "error", 0.15),
    ("hybrid_mismatch", "error", 0.1),
    ("expiring_soon", "warning", 0.25),
]

# Appended to the copy of the page that is measured.
MEASURE_JS = """
<script>
window.addEventListener('load', function(){
  var out = {};
  document.body.offsetHeight;
  out.loaded_ms = performance.now();
  var nav = performance.getEntriesByType('navigation')[0];
  if (nav) { out.dom_content_loaded_ms = nav.domContentLoadedEventEnd; out.dom_interactive_ms = nav.domInteractive; }
  function change(id, value, event){
    var el = document.getElementById(id);
    var began = performance.now();
    el.value = value;
    el.dispatchEvent(new Event(event));
    document.body.offsetHeight;
    return {ms: performance.now() - began, shown: +document.getElementById('shown-count').textContent};
  }
  out.filters = {
    status_drifting: change('status-filter', 'drifting', 'change'),
    code_duplicate: change('code-filter', 'duplicate_certificate', 'change'),
    status_all: change('status-filter', '', 'change'),
    text_name: change('text-filter', 'EX01', 'input'),
    reset: (function(){ document.getElementById('code-filter').value=''; return change('text-filter', '', 'input'); })()
  };
  // Open the first drifting server as a click on its summary does: its findings are made then.
  out.open_server = (function(){
    var row = document.querySelector('#matrix tbody tr[data-status="drifting"]');
    if (!row) return {ms: 0, findings: 0};
    var section = document.getElementById('srv-' + row.getAttribute('data-name'));
    var began = performance.now();
    section.querySelector('summary').click();
    document.body.offsetHeight;
    return {ms: performance.now() - began, findings: section.open ? section.querySelectorAll('.finding').length : 0};
  })();
  var pre = document.createElement('pre'); pre.id = 'bench'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def _thumbprint(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789ABCDEF") for _unused in range(40))


def _certificates(rng: random.Random, name: str) -> list[dict[str, Any]]:
    issuer = "CN=Contoso Issuing CA 1, O=Contoso, C=US"
    certificates = [
        {
            "thumbprint": _thumbprint(rng),
            "subject": "CN=mail.contoso.com, O=Contoso, L=Seattle, S=Washington, C=US",
            "issuer": issuer,
            "not_after": "2027-03-01T12:00:00+00:00",
            "days_to_expiry": rng.randint(20, 400),
            "has_private_key": True,
            "services": ["IIS", "SMTP"],
        },
        {
            "thumbprint": _thumbprint(rng),
            "subject": f"CN={name}",
            "issuer": f"CN={name}",
            "not_after": "2030-01-01T00:00:00+00:00",
            "days_to_expiry": 1500,
            "has_private_key": True,
            "services": ["SMTP"],
        },
    ]
    certificates += [
        {
            "thumbprint": _thumbprint(rng),
            "subject": f"CN=WMSvc-SHA2-{name}",
            "issuer": f"CN=WMSvc-SHA2-{name}",
            "not_after": "2033-06-01T00:00:00+00:00",
            "days_to_expiry": 2400,
            "has_private_key": True,
            "services": [],
        }
        for _unused in range(rng.randint(0, 3))
    ]
    return certificates


def _finding(rng: random.Random, code: str, severity: str, name: str) -> dict[str, Any]:
    thumbprint = _thumbprint(rng)
    return {
        "code": code,
        "severity": severity,
        "message": f"{code.replace('_', ' ')} on {name}: certificate {thumbprint} (see evidence)",
        "evidence": {
            "thumbprint": thumbprint,
            "subject": "CN=mail.contoso.com, O=Contoso, L=Seattle, S=Washington, C=US",
            "issuer": "CN=Contoso Issuing CA 1, O=Contoso, C=US",
            "copies": [{"thumbprint": _thumbprint(rng), "has_private_key": rng.random() < 0.5} for _unused in range(2)],
        },
        "fix": "remove" if code == "duplicate_certificate" else "enable_services",
    }


def synthetic_results(servers: int, seed: int = 7) -> list[tuple[str, str, dict[str, Any]]]:
    """(host, status, cert_compliance result) for a fleet: most compliant, some drifting, a few failed/unreachable."""
    rng = random.Random(seed)
    results = []
    for index in range(1, servers + 1):
        name = f"EX{index:04d}"
        roll = rng.random()
        result: dict[str, Any] = {
            "changed": False,
            "host": {"computer_name": name, "fqdn": f"{name.lower()}.contoso.com"},
            "certificates": _certificates(rng, name),
            "findings": [],
            "plan": [],
            "compliant": True,
        }
        status = "ok"
        if roll < 0.03:
            status, result = (
                "unreachable",
                {"msg": f"cert_compliance: certwarden agent read on {name} lost the connection"},
            )
        elif roll < 0.06:
            status = "failed"
            result = {"msg": f"cert_compliance: certwarden agent read on {name} failed: internal: access denied"}
        elif roll < 0.30:
            findings = [_finding(rng, code, sev, name) for code, sev, share in DRIFT if rng.random() < share]
            findings = findings or [_finding(rng, "duplicate_certificate", "error", name)]
            result.update(
                findings=findings, compliant=False, changed=True, plan=[{"action": f["fix"]} for f in findings]
            )
        results.append((name, status, result))
    return results


def build_report(servers: int) -> tuple[dict[str, Any], str, float]:
    """The report document and its HTML through the callback's own model and renderer; seconds to render."""
    from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.as_html import render_html
    from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.model import FleetReport

    report = FleetReport(lambda: dt.datetime.now(dt.UTC), "compliance.yml")
    report.check_mode = True
    report.play_started("Check the TLS certificates of every Exchange server", False)
    for host, status, result in synthetic_results(servers):
        if status == "unreachable":
            report.add_unreachable(host, "compliance", "nightly", result["msg"])
        else:
            report.add_result(
                host,
                "certwarden.exchange.cert_compliance",
                task="compliance",
                play="nightly",
                status=status,
                result=result,
            )
    began = time.perf_counter()
    document = report.to_dict()
    html = render_html(document)
    return document, html, time.perf_counter() - began


def load_in_chromium(chromium: str, page: Path, profile: Path) -> tuple[dict[str, Any], float]:
    """The measuring script's figures for one cold load of ``page``, and the browser process's wall time."""
    began = time.perf_counter()
    completed = subprocess.run(
        [*headless_argv(chromium, profile), "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wall = time.perf_counter() - began
    found = re.search(r'<pre id="bench">([^<]*)</pre>', completed.stdout)
    if completed.returncode != 0 or not found:
        raise RuntimeError(f"chromium did not run the page (exit {completed.returncode}): {completed.stderr[-1500:]}")
    return json.loads(found.group(1).replace("&quot;", '"')), wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_report", description=__doc__.split("\n", maxsplit=1)[0]
    )
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="cold browser loads")
    parser.add_argument("--json", type=Path, default=RESULTS / "report.json")
    args = parser.parse_args(argv)
    chromium = chromium_path()
    if chromium is None:
        print("chromium is not installed (tests/support/ensure-system-deps.sh installs it)")
        return 1
    document, html, render_seconds = build_report(args.servers)
    summary = document["summary"]
    with tempfile.TemporaryDirectory(prefix="bench-report-") as temp:
        page = Path(temp) / "report.html"
        page.write_text(html.replace("</body></html>", MEASURE_JS + "</body></html>"), encoding="utf-8")
        loads = [load_in_chromium(chromium, page, Path(temp) / f"profile-{i}") for i in range(args.repeat)]
    figures = [f for f, _unused in loads]
    filters = {name: median([f["filters"][name]["ms"] for f in figures]) for name in figures[0]["filters"]}
    shown = {name: figures[0]["filters"][name]["shown"] for name in figures[0]["filters"]}
    result = {
        "benchmark": "report",
        "machine": machine(),
        "servers": args.servers,
        "summary": {k: v for k, v in summary.items() if k != "finding_codes"},
        "html_bytes": len(html.encode("utf-8")),
        "python_render_ms": render_seconds * 1000,
        "loaded_ms_median": median([f["loaded_ms"] for f in figures]),
        "loaded_ms_max": max(f["loaded_ms"] for f in figures),
        "dom_interactive_ms_median": median([f.get("dom_interactive_ms", 0) for f in figures]),
        "browser_process_wall_s_median": median([w for _unused, w in loads]),
        "filter_ms_median": filters,
        "shown_after_filter": shown,
        "open_server_ms_median": median([f["open_server"]["ms"] for f in figures]),
        "open_server_findings": figures[0]["open_server"]["findings"],
        "target_ms": TARGET_MS,
        "loads": figures,
    }
    # Usable: each filter shows exactly the servers the summary counts.
    usable = shown["status_drifting"] == summary["drifting"] and shown["reset"] == summary["servers"]
    usable = usable and shown["code_duplicate"] == summary["finding_codes"].get("duplicate_certificate", 0)
    # And a drifting server, opened, shows its findings.
    usable = usable and (result["open_server_findings"] > 0 or not summary["drifting"])
    result["filters_usable"] = usable
    print(
        f"{args.servers} servers, {result['html_bytes'] / 1024:.0f} KiB HTML "
        f"(render_html {result['python_render_ms']:.0f} ms)"
        f"\nloaded + laid out: median {result['loaded_ms_median']:.0f} ms, max {result['loaded_ms_max']:.0f} ms "
        f"(target < {TARGET_MS:.0f}; parsed at {result['dom_interactive_ms_median']:.0f} ms); "
        f"browser process {result['browser_process_wall_s_median']:.1f} s; "
        f"load average at start {result['machine']['load_average_at_start']}"
    )
    for name, ms in filters.items():
        print(f"  filter {name:<16} {ms:>6.1f} ms, {shown[name]} servers shown")
    print(
        f"  open a drifting server  {result['open_server_ms_median']:>6.1f} ms, "
        f"{result['open_server_findings']} findings shown"
    )
    print(f"filters usable: {usable}\nwritten: {write_result('report', result, args.json)}")
    return 0 if usable else 1


if __name__ == "__main__":
    raise SystemExit(main())
