# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.html: one self-contained page (inline CSS and JS, nothing fetched) for up to thousands of servers.

Layout: fleet summary, the rollout state when there was one, filters (status,
finding code, free text), a server-by-check matrix, then one collapsible
section per server with every finding (evidence and fix), its certificates
with days to expiry, what a remediation changed (diff) and the backups kept.
Every value is HTML-escaped; the filters are plain JavaScript over the matrix
rows' data-* attributes, so the page works from a file:// URL with no network.
A server section's body is written inside <noscript> and made into elements
when the section is first opened (see below); without JavaScript the browser
shows it as ordinary markup.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.model import STATUS_ORDER

# What keeps 1,000 servers quick to open (docs/report.md, bench/bench_report.py):
# - the matrix rows and the server sections come in blocks of _BLOCK (a <tbody>, a <div>), each with
#   content-visibility:auto, so the browser styles and lays out only the blocks on screen, also
#   while it is still parsing the page. A table lays out all its rows together, so the matrix is a
#   <table> laid out as blocks of grid rows with fixed column widths and a fixed row height; the
#   placeholder height of a block is then exact (rows shown x row height);
# - each server section holds its body (findings, certificates, diffs, backups) inside <noscript>:
#   with scripting on the parser keeps that as one text node, and the script makes it into elements
#   when the section is first opened; with scripting off the browser parses it as usual, so the
#   page shows everything without JavaScript too. It is escaped HTML like the rest of the page.
_BLOCK = 50
_ROW_REM = 1.6  # .mx tbody tr height
_SECTION_REM = 2.32  # a closed server section with its margin (measured in Chromium), for a block's placeholder
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
.mx,.mx thead,.mx tbody{display:block}
.mx{width:max-content;border-left:1px solid #d8dde6}
.mx thead{position:sticky;top:0;z-index:1}
.mx tr{display:grid;grid-template-columns:__COLUMNS__}
.mx tbody{content-visibility:auto;contain-intrinsic-size:0 __BLOCK_REM__rem}
.mx tbody tr{height:__ROW_REM__rem}
.mx th,.mx td{position:static;box-sizing:border-box;border-width:0 1px 1px 0}
.mx td{line-height:1.1rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.mx thead th{border-top-width:1px}
.mx td:nth-child(n+4){text-align:center;color:#1a7f37}.mx td.e,.mx td.w,.mx td.u{color:inherit}
.mx td.e{background:#fde2e1}.mx td.w{background:#fff4d6}
.vcode{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:500}
.servers{content-visibility:auto;contain-intrinsic-size:auto __SECTIONS_REM__rem}
details.server{background:#fff;border:1px solid #d8dde6;border-radius:6px;margin:.4rem 0;padding:.3rem .7rem}
details.server>summary{cursor:pointer;font-weight:600}
.finding{border-left:4px solid #c62828;padding:.2rem .6rem;margin:.5rem 0}
.finding.warning{border-color:#e0a100}
pre{background:#f3f5f8;padding:.5rem;overflow:auto;max-height:24rem;font-size:.78rem}
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.75rem;background:#eef1f5;margin-right:.3rem}
.hidden{display:none!important}
.rollout{background:#fff;border:1px solid #d8dde6;border-left:4px solid #1f6feb;padding:.5rem 1rem}
"""

# The filters read the matrix rows' data-* attributes and show or hide the row and the server
# section at the same position (matrix block b and section block b hold the same servers), a block
# when none of its servers is shown, and set each block's placeholder height to what it shows. They
# write only what changes and read no layout back, so a change costs one layout of what is on screen.
# A section's body is made from its <noscript> text when it is first opened: a click on its summary
# or on its name in the matrix, the address #srv-<name>, or any other way that opens it (toggle).
_JS = """
(function(){
  var d=document, ROW=__ROW_REM__, SECTION=__SECTION_REM__;
  var status=d.getElementById('status-filter');
  var code=d.getElementById('code-filter');
  var text=d.getElementById('text-filter');
  var blocks=d.getElementById('matrix').tBodies;
  var groups=d.querySelectorAll('div.servers');
  function apply(){
    var s=status.value, c=code.value, t=text.value.trim().toLowerCase(), shown=0;
    for(var b=0;b<blocks.length;b++){
      var rows=blocks[b].rows, sections=groups[b].children, n=0;
      for(var i=0;i<rows.length;i++){
        var r=rows[i], v=!(s && r.getAttribute('data-status')!==s)
          && !(c && (' '+r.getAttribute('data-codes')+' ').indexOf(' '+c+' ')<0)
          && !(t && r.getAttribute('data-name').toLowerCase().indexOf(t)<0);
        if(r.classList.contains('hidden')===v){r.classList.toggle('hidden',!v);sections[i].classList.toggle('hidden',!v);}
        if(v)n++;
      }
      shown+=n;
      if(blocks[b].shown!==n){
        blocks[b].shown=n;
        blocks[b].classList.toggle('hidden',!n);groups[b].classList.toggle('hidden',!n);
        blocks[b].style.containIntrinsicSize='0 '+(n*ROW)+'rem';
        groups[b].style.containIntrinsicSize='auto '+(n*SECTION)+'rem';
      }
    }
    d.getElementById('shown-count').textContent=shown;
  }
  function fill(section){
    var body=section.querySelector('noscript');
    if(!body)return;
    var html=body.textContent;
    body.remove();
    section.insertAdjacentHTML('beforeend',html);
  }
  function openHash(hash){
    var id;
    try{id=decodeURIComponent(hash.slice(1));}catch(err){return;}
    var section=id&&d.getElementById(id);
    if(section&&section.classList.contains('server')){fill(section);section.open=true;}
  }
  d.addEventListener('toggle',function(e){if(e.target.open&&e.target.classList.contains('server'))fill(e.target);},true);
  d.addEventListener('click',function(e){
    if(!e.target.closest)return;
    var a=e.target.closest('a[href^="#srv-"]'), summary=e.target.closest('details.server>summary');
    if(a)openHash(a.hash);
    else if(summary)fill(summary.parentNode);
  });
  window.addEventListener('hashchange',function(){openHash(location.hash);});
  status.addEventListener('change',apply);code.addEventListener('change',apply);text.addEventListener('input',apply);
  for(var b=0;b<blocks.length;b++)blocks[b].shown=blocks[b].rows.length;
  apply();
  if(location.hash)openHash(location.hash);
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


def _columns(servers: list[dict[str, Any]], codes: list[str]) -> str:
    """Fixed grid columns for the matrix: every row is a grid of its own, so widths cannot follow the content.

    The name column fits the longest name (about 0.72em a character, padding included); a longer
    name than 40 characters is cut with an ellipsis in the matrix and shown whole in its title.
    """
    longest = min(max((len(s["name"]) for s in servers), default=6), 40)
    return " ".join([f"{round(longest * 0.72 + 1.4, 1)}em", "6.5rem", "5.5rem", *["1.9rem"] * len(codes)])


def _row(server: dict[str, Any], codes: list[str]) -> str:
    severities: dict[str, str] = {}
    for finding in server["findings"]:
        if severities.get(finding["code"]) != "error":
            severities[finding["code"]] = finding["severity"]
    unknown = "<td class=u>?</td>" if server["status"] == "unreachable" else "<td>\u2713</td>"
    cells = []
    for code in codes:
        severity = severities.get(code)
        if severity == "error":
            cells.append('<td class=e title="error">\u2717</td>')
        elif severity:
            cells.append('<td class=w title="warning">!</td>')
        else:
            cells.append(unknown)
    name = _e(server["name"])
    return (
        f'<tr {_attrs(server)}><td><a href="#srv-{name}" title="{name}">{name}</a></td>'
        f"<td class={server['status']}>{server['status']}</td><td>{_min_days(server)}</td>{''.join(cells)}</tr>"
    )


def _blocks(servers: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [servers[start : start + _BLOCK] for start in range(0, len(servers), _BLOCK)]


def _placeholder(block: list[dict[str, Any]], width: str, rem_each: float) -> str:
    """A short (last) block's placeholder height, for what it holds; full blocks take the CSS default."""
    if len(block) == _BLOCK:
        return ""
    return f' style="contain-intrinsic-size:{width} {len(block) * rem_each:g}rem"'


def _matrix(servers: list[dict[str, Any]], codes: list[str]) -> str:
    head = "".join(f'<th title="{_e(c)}"><span class="vcode">{_e(c)}</span></th>' for c in codes)
    lines = [
        '<table class="mx" id="matrix"><thead><tr><th>Server</th><th>Status</th>'
        f"<th>Days left (bound)</th>{head}</tr></thead>"
    ]
    for block in _blocks(servers):
        lines.append(f"<tbody{_placeholder(block, '0', _ROW_REM)}>{''.join(_row(s, codes) for s in block)}</tbody>")
    lines.append("</table>")
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


def _presented(side: dict[str, Any] | None) -> str:
    if side is None:
        return "<td>(not compared)</td>"
    chain = ", ".join(str(t) for t in side.get("chain") or []) or "(none)"
    return f"<td><code>{_e(side.get('certificate') or '(none)')}</code><br>chain: <code>{_e(chain)}</code></td>"


def _wire(rows: list[dict[str, Any]]) -> str:
    """Stored (what the server's store would present) beside presented (what the probe saw)."""
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{_e(r.get('protocol'))} <code>{_e(r.get('endpoint'))}</code></td>{_presented(r.get('stored'))}"
        f"{_presented(r.get('presented'))}<td>{'yes' if r.get('agrees') else 'no' if r.get('agrees') is False else ''}"
        "</td></tr>"
        for r in rows
    )
    return (
        "<h4>On the wire: stored versus presented</h4><table><thead><tr><th>Endpoint</th><th>Stored</th>"
        f"<th>Presented</th><th>Same</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _server(server: dict[str, Any]) -> str:
    title = server["name"] + (f" ({server['fqdn']})" if server.get("fqdn") else "")
    parts = []
    if server.get("unreachable"):
        parts.append(f'<p class="unreachable">Unreachable: {_e(server["unreachable"])}</p>')
    for error in server["errors"]:
        parts.append(f'<p class="failed">Task failed: {_e(error["task"])}: {_e(error["msg"])}</p>')
    parts.extend(_finding(f) for f in server["findings"])
    parts.append(_certificates(server["certificates"]))
    parts.append(_wire(server.get("wire") or []))
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
    body = "".join(parts)
    # Everything in body went through _e, so it holds no "<" but the markup's own and cannot end
    # the <noscript> early (the parser keeps its content as text up to the first "</noscript").
    if "</noscript" in body.lower():  # only a change to the markup here could do this
        raise ValueError("server section body must not contain </noscript")
    return (
        f'<details class="server" id="srv-{_e(server["name"])}">'
        f'<summary>{_e(title)} &mdash; <span class="{server["status"]}">{server["status"]}</span>'
        f"{' &middot; changed' if server['changed'] else ''} &middot; {len(server['findings'])} findings</summary>"
        f"<noscript>{body}</noscript></details>"
    )


def _section_block(block: list[dict[str, Any]]) -> str:
    return f'<div class="servers"{_placeholder(block, "auto", _SECTION_REM)}>{"".join(_server(s) for s in block)}</div>'


def render_html(report: dict[str, Any]) -> str:
    servers = sorted(report["servers"], key=lambda s: (STATUS_ORDER.index(s["status"]), s["name"]))
    codes = sorted(report["summary"]["finding_codes"])
    title = f"certwarden compliance report {report.get('playbook') or ''}".strip()
    sizes = {
        "__COLUMNS__": _columns(servers, codes),
        "__BLOCK_REM__": f"{_BLOCK * _ROW_REM:g}",
        "__SECTIONS_REM__": f"{_BLOCK * _SECTION_REM:g}",
        "__ROW_REM__": f"{_ROW_REM:g}",
        "__SECTION_REM__": f"{_SECTION_REM:g}",
    }
    css, script = _CSS, _JS
    for key, value in sizes.items():
        css, script = css.replace(key, value), script.replace(key, value)
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>{_e(title)}</title><style>{css}</style></head><body>",
            f"<h1>{_e(title)}</h1>",
            f'<div class="meta">Run {_e(report["started_utc"])} &rarr; {_e(report["finished_utc"])}, '
            f"report schema {report['schema_version']}</div>",
            _summary(report),
            _rollout(report.get("rollout")),
            "<h2>Servers by check</h2>",
            _filters(codes),
            _matrix(servers, codes),
            "<h2>Details</h2>",
            "".join(_section_block(block) for block in _blocks(servers)),
            f"<script>{script}</script></body></html>\n",
        ]
    )
