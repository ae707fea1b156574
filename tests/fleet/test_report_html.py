"""report.html: escaping, the block structure the filters rely on, and the page in headless Chromium with and without
JavaScript (a server section's body is written inside <noscript> and made into elements when it is opened)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.as_html import render_html
from bench.bench_report import build_report
from tests.support.chromium import chromium_path, headless_argv

# Ends the <noscript>, the <details>, an attribute; would run script or add an element if it reached the page as markup.
HOSTILE = '</noscript></details>"\'><script>window.pwned=1</script><b id="injected">&amp;</b>'
SERVERS = 120


def _hostile_report() -> dict[str, Any]:
    document, _html, _seconds = build_report(SERVERS)
    servers = document["servers"]
    drifting = next(s for s in servers if s["status"] == "drifting")
    drifting["name"] = f"EX-{HOSTILE}"
    drifting["certificates"][0]["subject"] = f"CN={HOSTILE}"
    drifting["findings"][0]["message"] = f"connector {HOSTILE} names the old certificate"
    drifting["findings"][0]["evidence"] = {"connector": HOSTILE}
    drifting["diffs"] = [{"task": HOSTILE, "before": HOSTILE, "after": "ok"}]
    drifting["backups"] = [{"thumbprint": "AB", "kind": "pfx", "remote_path": HOSTILE, "local_path": HOSTILE}]
    failed = next(s for s in servers if s["status"] == "failed")
    failed["errors"] = [{"task": "compliance", "msg": HOSTILE}]
    unreachable = next(s for s in servers if s["status"] == "unreachable")
    unreachable["unreachable"] = HOSTILE
    return document


def _matrix(html: str) -> str:
    start = html.index('<table class="mx"')
    return html[start : html.index("</table>", start)]


def test_hostile_values_stay_text() -> None:
    document = _hostile_report()
    html = render_html(document)
    assert "window.pwned" in html  # the value is there, escaped
    assert "<script>window.pwned" not in html
    assert '<b id="injected">' not in html
    assert "&lt;/noscript&gt;&lt;/details&gt;&quot;&#x27;&gt;&lt;script&gt;" in html
    # Nothing in a section body ends its <noscript> early: one opening and one closing tag per server.
    assert html.count("<noscript>") == html.count("</noscript>") == SERVERS
    for body in re.findall(r"<noscript>(.*?)</noscript>", html, re.S):
        assert "<script" not in body.lower()


def test_matrix_blocks_and_sections_line_up() -> None:
    html = render_html(_hostile_report())
    blocks = re.findall(r"<tbody[^>]*>(.*?)</tbody>", _matrix(html), re.S)
    groups = re.findall(r'<div class="servers"[^>]*>(.*?</noscript></details>)</div>', html, re.S)
    assert len(blocks) == len(groups) == -(-SERVERS // 50)
    for block, group in zip(blocks, groups, strict=True):
        names = re.findall(r'<tr data-status="[^"]*" data-codes="[^"]*" data-name="([^"]*)"', block)
        ids = re.findall(r'<details class="server" id="srv-([^"]*)"', group)
        assert names == ids
    # Each block's placeholder height is what it holds: the full ones take the CSS default, the last
    # (120 = 2 x 50 + 20) says its own, in the matrix and in the sections alike.
    assert re.findall(r'<tbody style="contain-intrinsic-size:0 ([\d.]+)rem">', html) == ["32"]
    assert re.findall(r'<div class="servers" style="contain-intrinsic-size:auto ([\d.]+)rem">', html) == ["46.4"]


def test_fleet_without_findings_and_empty_fleet_have_valid_matrix_columns() -> None:
    document, _html, _seconds = build_report(20)
    for server in document["servers"]:
        server.update(status="compliant", findings=[], errors=[], unreachable=None)
    document["summary"]["finding_codes"] = {}
    for servers in (document["servers"], []):
        html = render_html({**document, "servers": servers})
        columns = re.search(r"grid-template-columns:([^}]*)}", html)
        assert columns and re.fullmatch(r"[\d.]+em 6\.5rem 5\.5rem", columns.group(1)), columns
        assert _matrix(html).count("<tbody") == -(-len(servers) // 50)


# Appended to a copy of the page: filters, alignment of rows and sections, every section opened, and the
# page as a browser without JavaScript builds it (DOMParser documents run no script).
PROBE = """
<script>
window.addEventListener('load', function(){
  var d = document, out = {};
  function change(id, value, event){
    var el = d.getElementById(id); el.value = value; el.dispatchEvent(new Event(event));
    return +d.getElementById('shown-count').textContent;
  }
  function aligned(){
    var rows = d.querySelectorAll('#matrix tbody tr:not(.hidden)');
    var sections = d.querySelectorAll('details.server:not(.hidden)');
    if (rows.length !== sections.length) return false;
    for (var i = 0; i < rows.length; i++) {
      if ('srv-' + rows[i].getAttribute('data-name') !== sections[i].id) return false;
    }
    return true;
  }
  out.initial = +d.getElementById('shown-count').textContent;
  out.drifting = change('status-filter', 'drifting', 'change');
  out.drifting_aligned = aligned();
  out.duplicate = change('code-filter', 'duplicate_certificate', 'change');
  out.duplicate_aligned = aligned();
  change('status-filter', '', 'change'); change('code-filter', '', 'change');
  out.by_name = change('text-filter', 'noscript', 'input');
  out.by_name_aligned = aligned();
  out.reset = change('text-filter', '', 'input');
  d.querySelectorAll('details.server>summary').forEach(function(s){ s.click(); });
  out.open = d.querySelectorAll('details.server[open]').length;
  out.findings = d.querySelectorAll('details.server .finding').length;
  out.noscript_left = d.querySelectorAll('details.server noscript').length;
  var cells = Array.prototype.slice.call(d.querySelectorAll('details.server td'));
  out.subject_as_text = cells.some(function(td){ return td.textContent === 'CN=' + HOSTILE; });
  out.pwned = window.pwned || 0;
  out.injected = !!d.getElementById('injected');
  var xhr = new XMLHttpRequest();
  xhr.open('GET', location.href.replace('probe.html', 'report.html'), false);
  xhr.send();
  var plain = new DOMParser().parseFromString(xhr.responseText, 'text/html');
  out.nojs_findings = plain.querySelectorAll('details.server .finding').length;
  out.nojs_injected = !!plain.getElementById('injected') || plain.querySelectorAll('details.server script').length;
  var pre = d.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); d.body.appendChild(pre);
});
</script>
"""


@pytest.mark.chromium
def test_report_in_headless_chromium_with_and_without_javascript(tmp_path: Path) -> None:
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (tests/support/ensure-system-deps.sh installs it)")
    document = _hostile_report()
    html = render_html(document)
    (tmp_path / "report.html").write_text(html, encoding="utf-8")
    probe = PROBE.replace("HOSTILE", json.dumps(HOSTILE).replace("<", "\\u003c"))
    (tmp_path / "probe.html").write_text(html.replace("</body></html>", probe + "</body></html>"), encoding="utf-8")
    completed = subprocess.run(
        [
            *headless_argv(chromium, tmp_path / "profile"),
            "--allow-file-access-from-files",
            "--dump-dom",
            (tmp_path / "probe.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    found = re.search(r'<pre id="probe">([^<]*)</pre>', completed.stdout)
    assert found, completed.stderr[-2000:]
    out = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    summary = document["summary"]
    findings = sum(len(s["findings"]) for s in document["servers"])
    assert out["initial"] == out["reset"] == SERVERS
    assert out["drifting"] == summary["drifting"] and out["drifting_aligned"]
    assert out["duplicate"] == summary["finding_codes"]["duplicate_certificate"] and out["duplicate_aligned"]
    assert out["by_name"] == 1 and out["by_name_aligned"]  # the server whose name holds </noscript>
    assert out["open"] == SERVERS and out["noscript_left"] == 0
    assert out["findings"] == out["nojs_findings"] == findings
    assert out["subject_as_text"]
    assert out["pwned"] == 0 and not out["injected"] and not out["nojs_injected"]
