# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.html: one self-contained page (inline CSS and JS, nothing fetched) for up to thousands of servers.

Layout: fleet summary, the rollout state when there was one, filters (status,
finding code, free text), a server-by-check matrix, then one collapsible
section per server with every finding (evidence and fix), its certificates
with days to expiry, what a remediation changed (diff) and the backups kept.
Every value is HTML-escaped; the filters are plain JavaScript over data-*
attributes, so the page works from a file:// URL with no network.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils.report_model import STATUS_ORDER

# content-visibility: the browser skips laying out server sections that are off screen, which at
# 1,000 servers takes the page from about 1.9 s to 1.3 s to load (docs/benchmarks.md, bench_report).
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
.meta{color:#5a6272;font-size:.85rem}
.cards{display:flex;gap:.8rem;flex-wrap:wrap;margin:1rem 0}
.card{background:#fff;border:1px solid #d8dde6;border-radius:6px;padding:.6rem 1rem;min-width:7rem}
.card b{display:block;font-size:1.6rem}
.compliant{color:#1a7f37}.drifting{color:#b35900}.failed{color:#c62828}.unreachable{color:#6a1b9a}
.filters{display:flex;gap:.8rem;align-items:center;flex-wrap:wrap;margin:.6rem 0}
table{border-collapse:collapse;background:#fff;font-size:.82rem}
th,td{border:1px solid #d8dde6;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#eef1f5;position:sticky;top:0}
.matrix td.c{text-align:center}.e{background:#fde2e1}.w{background:#fff4d6}.ok{color:#1a7f37}
.vcode{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:500}
details.server{content-visibility:auto;contain-intrinsic-size:auto 2.2rem}
details.server{background:#fff;border:1px solid #d8dde6;border-radius:6px;margin:.4rem 0;padding:.3rem .7rem}
details.server>summary{cursor:pointer;font-weight:600}
.finding{border-left:4px solid #c62828;padding:.2rem .6rem;margin:.5rem 0}
.finding.warning{border-color:#e0a100}
pre{background:#f3f5f8;padding:.5rem;overflow:auto;max-height:24rem;font-size:.78rem}
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.75rem;background:#eef1f5;margin-right:.3rem}
.hidden{display:none}
.rollout{background:#fff;border:1px solid #d8dde6;border-left:4px solid #1f6feb;padding:.5rem 1rem}
"""

_JS = """
(function(){
  var status=document.getElementById('status-filter');
  var code=document.getElementById('code-filter');
  var text=document.getElementById('text-filter');
  var rows=document.querySelectorAll('#matrix tbody tr');
  var sections=document.querySelectorAll('details.server');
  function visible(el){
    var s=status.value, c=code.value, t=text.value.trim().toLowerCase();
    if(s && el.getAttribute('data-status')!==s) return false;
    if(c && (' '+el.getAttribute('data-codes')+' ').indexOf(' '+c+' ')<0) return false;
    if(t && el.getAttribute('data-name').toLowerCase().indexOf(t)<0) return false;
    return true;
  }
  function apply(){
    var shown=0;
    for(var i=0;i<rows.length;i++){var v=visible(rows[i]);rows[i].classList.toggle('hidden',!v);if(v)shown++;}
    for(var j=0;j<sections.length;j++){sections[j].classList.toggle('hidden',!visible(sections[j]));}
    document.getElementById('shown-count').textContent=shown;
  }
  status.addEventListener('change',apply);code.addEventListener('change',apply);text.addEventListener('input',apply);
  apply();
})();
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _attrs(server: dict[str, Any]) -> str:
    codes = " ".join(sorted({f["code"] for f in server["findings"]}))
    return f'data-status="{_e(server["status"])}" data-codes="{_e(codes)}" data-name="{_e(server["name"])}"'


def _summary(report: dict[str, Any]) -> str:
    summary = report["summary"]
    cards = [f'<div class="card">Servers<b id="count-servers">{summary["servers"]}</b></div>']
    for status in reversed(STATUS_ORDER):
        cards.append(f'<div class="card {status}">{status.title()}<b id="count-{status}">{summary[status]}</b></div>')
    cards.append(f'<div class="card">Changed<b id="count-changed">{summary["changed"]}</b></div>')
    return '<div class="cards">' + "".join(cards) + "</div>"


def _rollout(rollout: dict[str, Any] | None) -> str:
    if not rollout:
        return ""
    parts = [f'<h2>Rollout</h2><div class="rollout" id="rollout"><p>{_e(rollout["advice"])}</p><ul>']
    parts.append(f"<li>Batches started: {rollout['batches_started']}</li>")
    for label, key in (("Completed", "completed"), ("Stopped on", "stopped_on"), ("Not reached", "not_reached")):
        parts.append(f"<li>{label}: {_e(', '.join(rollout[key]) or 'none')}</li>")
    parts.append("</ul></div>")
    return "".join(parts)


def _filters(codes: list[str]) -> str:
    statuses = "".join(f'<option value="{s}">{s}</option>' for s in reversed(STATUS_ORDER))
    options = "".join(f'<option value="{_e(c)}">{_e(c)}</option>' for c in codes)
    return (
        '<div class="filters"><label>Status <select id="status-filter"><option value="">all</option>'
        f"{statuses}</select></label>"
        f'<label>Finding <select id="code-filter"><option value="">all</option>{options}</select></label>'
        '<label>Server <input id="text-filter" type="search" placeholder="name"></label>'
        '<span>showing <b id="shown-count"></b> servers</span></div>'
    )


def _min_days(server: dict[str, Any]) -> str:
    days = [c.get("days_to_expiry") for c in server["certificates"] if isinstance(c.get("days_to_expiry"), int)]
    bound = [
        c.get("days_to_expiry")
        for c in server["certificates"]
        if c.get("services") and isinstance(c.get("days_to_expiry"), int)
    ]
    chosen = bound or days
    return str(min(chosen)) if chosen else ""


def _matrix(servers: list[dict[str, Any]], codes: list[str]) -> str:
    head = "".join(f'<th title="{_e(c)}"><span class="vcode">{_e(c)}</span></th>' for c in codes)
    lines = [
        '<table class="matrix" id="matrix"><thead><tr><th>Server</th><th>Status</th>'
        f"<th>Days left (bound)</th>{head}</tr></thead><tbody>"
    ]
    for server in servers:
        severities: dict[str, str] = {}
        for finding in server["findings"]:
            if severities.get(finding["code"]) != "error":
                severities[finding["code"]] = finding["severity"]
        cells = []
        for code in codes:
            severity = severities.get(code)
            if severity == "error":
                cells.append('<td class="c e" title="error">&#x2717;</td>')
            elif severity:
                cells.append('<td class="c w" title="warning">!</td>')
            elif server["status"] == "unreachable":
                cells.append('<td class="c">?</td>')
            else:
                cells.append('<td class="c ok">&#x2713;</td>')
        anchor = f"srv-{_e(server['name'])}"
        lines.append(
            f'<tr {_attrs(server)}><td><a href="#{anchor}">{_e(server["name"])}</a></td>'
            f'<td class="{server["status"]}">{server["status"]}</td><td>{_min_days(server)}</td>{"".join(cells)}</tr>'
        )
    lines.append("</tbody></table>")
    return "".join(lines)


def _finding(finding: dict[str, Any]) -> str:
    evidence = json.dumps(finding.get("evidence") or {}, indent=2, sort_keys=True, default=str)
    return (
        f'<div class="finding {_e(finding["severity"])}"><span class="badge">{_e(finding["code"])}</span>'
        f'<span class="badge">{_e(finding["severity"])}</span>{_e(finding["message"])}'
        f"<div>Fix: <code>{_e(finding.get('fix') or 'needs a person')}</code> &middot; found by "
        f"{_e(finding['module'])} ({_e(finding['task'])})</div>"
        f"<details><summary>Evidence</summary><pre>{_e(evidence)}</pre></details></div>"
    )


def _certificates(certificates: list[dict[str, Any]]) -> str:
    if not certificates:
        return ""
    rows = "".join(
        f"<tr><td><code>{_e(c.get('thumbprint'))}</code></td><td>{_e(c.get('subject'))}</td>"
        f"<td>{_e(c.get('not_after'))}</td><td>{_e(c.get('days_to_expiry'))}</td>"
        f"<td>{_e(', '.join(c.get('services') or []))}</td><td>{'yes' if c.get('has_private_key') else 'no'}</td></tr>"
        for c in certificates
    )
    return (
        "<h4>Certificates in My</h4><table><thead><tr><th>Thumbprint</th><th>Subject</th><th>Not after</th>"
        f"<th>Days to expiry</th><th>Services</th><th>Private key</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _server(server: dict[str, Any]) -> str:
    title = server["name"] + (f" ({server['fqdn']})" if server.get("fqdn") else "")
    parts = [
        f'<details class="server" id="srv-{_e(server["name"])}" {_attrs(server)}>'
        f'<summary>{_e(title)} &mdash; <span class="{server["status"]}">{server["status"]}</span>'
        f"{' &middot; changed' if server['changed'] else ''} &middot; {len(server['findings'])} findings</summary>"
    ]
    if server.get("unreachable"):
        parts.append(f'<p class="unreachable">Unreachable: {_e(server["unreachable"])}</p>')
    for error in server["errors"]:
        parts.append(f'<p class="failed">Task failed: {_e(error["task"])}: {_e(error["msg"])}</p>')
    parts.extend(_finding(f) for f in server["findings"])
    parts.append(_certificates(server["certificates"]))
    for diff in server["diffs"]:
        parts.append(
            f"<h4>Changed by {_e(diff['task'])}</h4><pre>--- before\n{_e(diff.get('before'))}\n"
            f"+++ after\n{_e(diff.get('after'))}</pre>"
        )
    if server["backups"]:
        items = "".join(
            f"<li><code>{_e(b.get('thumbprint'))}</code> ({_e(b.get('kind'))}) {_e(b.get('remote_path'))}"
            f"{' / ' + _e(b.get('local_path')) if b.get('local_path') else ''}</li>"
            for b in server["backups"]
        )
        parts.append(f"<h4>Backups</h4><ul>{items}</ul>")
    parts.append("</details>")
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    servers = sorted(report["servers"], key=lambda s: (STATUS_ORDER.index(s["status"]), s["name"]))
    codes = sorted(report["summary"]["finding_codes"])
    title = f"certwarden compliance report {report.get('playbook') or ''}".strip()
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{_e(title)}</h1>",
            f'<div class="meta">Run {_e(report["started_utc"])} &rarr; {_e(report["finished_utc"])}, '
            f"report schema {report['schema_version']}</div>",
            _summary(report),
            _rollout(report.get("rollout")),
            "<h2>Servers by check</h2>",
            _filters(codes),
            _matrix(servers, codes),
            "<h2>Details</h2>",
            "".join(_server(s) for s in servers),
            f"<script>{_JS}</script></body></html>\n",
        ]
    )
