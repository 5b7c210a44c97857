"""The auditor page's HTML: plain strings, every value escaped, no script at all.

Styles sit in one `<style>` element carrying the response's CSP nonce; the waterfall is SVG
(geometry in attributes, which a strict CSP allows, unlike inline `style=`). DLP paths are shown
the way refusal messages show them: a quoted object key, which can itself be a personal value,
is elided.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any, Final
from urllib.parse import urlencode

from mcp_gateway.auditor.listing import FIELDS, Page, Query
from mcp_gateway.auditor.trace_view import Row
from mcp_gateway.dlp.paths import path_for_message

BASE: Final = "/audit"
_WATERFALL_WIDTH: Final = 480
_CSS: Final = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6em 1.2em;display:flex;justify-content:space-between;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
header form{display:inline;margin-left:1em}
main{padding:1em 1.2em;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5em 0 1.2em}
th,td{border-bottom:1px solid #e3e6eb;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.deny{color:#a4161a;font-weight:600}.allow{color:#1b7f3b;font-weight:600}
.error{color:#a4161a}.muted{color:#667}
form.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:end;background:#fff;padding:.8em}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#445}
input,select,button{font:inherit;padding:.25em .4em}
.problems{color:#a4161a}
nav.pages{margin:.5em 0}
svg rect.ok{fill:#4b7bec}svg rect.ERROR{fill:#d64545}svg rect.UNSET{fill:#4b7bec}
code{font-size:12px;word-break:break-all}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def layout(title: str, body: str, nonce: str, who: str | None = None) -> str:
    signed_in = ""
    if who is not None:
        signed_in = (
            f'<span>{_e(who)}<form method="post" action="{BASE}/logout">'
            '<button type="submit">Sign out</button></form></span>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="same-origin"><title>{_e(title)} · mcp-gateway audit</title>'
        f'<style nonce="{_e(nonce)}">{_CSS}</style></head><body>'
        f'<header><a href="{BASE}/">mcp-gateway audit</a>{signed_in}</header>'
        f"<main><h1>{_e(title)}</h1>{body}</main></body></html>"
    )


def login_page(nonce: str, message: str = "") -> str:
    problem = f'<p class="problems" id="problem">{_e(message)}</p>' if message else ""
    body = (
        f"{problem}<p>Sign in with an API token or access token that holds an auditor role. "
        "The token stays on the server; your browser keeps only a session cookie.</p>"
        f'<form method="post" action="{BASE}/login" autocomplete="off">'
        '<label>Token <input type="password" name="token" id="token" required size="60"></label> '
        '<button type="submit" id="sign-in">Sign in</button></form>'
    )
    return layout("Sign in", body, nonce)


def refused_page(nonce: str, message: str, who: str | None = None) -> str:
    return layout("Not allowed", f'<p class="problems" id="problem">{_e(message)}</p>', nonce, who)


def _decision(value: Any) -> str:
    text = _e(value)
    return f'<span class="{text}">{text}</span>' if value in ("allow", "deny") else text


def _findings_count(record: Mapping[str, Any]) -> int:
    dlp = record.get("dlp") or {}
    return sum(len(dlp.get(direction) or ()) for direction in ("ingress", "egress"))


def _filters(query: Query) -> str:
    values = query.values
    decision = values.get("decision", "")
    options = "".join(
        f'<option value="{value}"{" selected" if decision == value else ""}>{label}</option>'
        for value, label in (("", "any"), ("allow", "allow"), ("deny", "deny"))
    )

    def field(name: str, label: str, placeholder: str = "") -> str:
        return (
            f'<label>{label}<input name="{name}" id="f-{name}" value="{_e(values.get(name, ""))}" '
            f'placeholder="{_e(placeholder)}"></label>'
        )

    problems = "".join(f"<li>{_e(problem)}</li>" for problem in query.problems)
    return (
        f'<form class="filters" method="get" action="{BASE}/">'
        f"{field('principal', 'Principal')}{field('tool', 'Tool', 'fs.* or fs.read_file')}"
        f'<label>Decision<select name="decision" id="f-decision">{options}</select></label>'
        f"{field('since', 'Since', '2026-12-01T00:00')}{field('until', 'Until')}"
        f"{field('trace_id', 'Trace id', '32 hex digits')}"
        '<button type="submit" id="apply">Filter</button></form>'
        + (f'<ul class="problems">{problems}</ul>' if problems else "")
    )


def list_page(page: Page, query: Query, nonce: str, who: str) -> str:
    rows = "".join(
        f'<tr class="call"><td><a href="{BASE}/call/{_e(record.get("seq"))}">{_e(record.get("seq"))}</a></td>'
        f"<td>{_e(record.get('time'))}</td><td>{_e(record.get('principal'))}</td>"
        f'<td class="tool">{_e(record.get("tool"))}</td><td>{_decision(record.get("decision"))}</td>'
        f'<td>{_e(record.get("outcome"))}</td><td class="num">{_e(record.get("duration_ms"))}</td>'
        f'<td class="num">{_findings_count(record)}</td></tr>'
        for record in page.records
    )
    table = (
        '<table id="calls"><thead><tr><th>seq</th><th>time (UTC)</th><th>principal</th><th>tool</th>'
        "<th>decision</th><th>outcome</th><th>ms</th><th>DLP findings</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if page.records
        else '<p id="empty">No tool call matches.</p>'
    )
    body = _filters(query) + f'<p id="total">{page.total} calls match.</p>' + table + _pager(page, query)
    return layout("Tool calls", body, nonce, who)


def _pager(page: Page, query: Query) -> str:
    if page.pages <= 1:
        return ""
    kept = {name: value for name in FIELDS if (value := query.values.get(name))}

    def link(number: int, label: str) -> str:
        return f'<a href="{BASE}/?{_e(urlencode({**kept, "page": number}))}">{label}</a>'

    parts = []
    if page.number > 1:
        parts.append(link(page.number - 1, "← newer"))
    parts.append(f"page {page.number} of {page.pages}")
    if page.number < page.pages:
        parts.append(link(page.number + 1, "older →"))
    return '<nav class="pages">' + " · ".join(parts) + "</nav>"


def _table(pairs: Iterable[tuple[str, Any]], table_id: str) -> str:
    rows = "".join(f"<tr><th>{_e(key)}</th><td>{value}</td></tr>" for key, value in pairs)
    return f'<table id="{table_id}">{rows}</table>'


_SUMMARY: Final = (
    "seq", "time", "principal", "roles", "domain", "transport", "tool", "requested", "decision", "rule",
    "outcome", "refused_by", "duration_ms", "result_bytes", "request_id", "trace_id",
)  # fmt: skip


def _shown(key: str, value: Any) -> str:
    if key == "decision":
        return _decision(value)
    if key == "rule" and isinstance(value, list):
        return f"<code>p, {_e(', '.join(str(part) for part in value))}</code>"
    if key == "roles" and isinstance(value, list):
        return _e(", ".join(str(role) for role in value))
    if key == "trace_id" and value:
        return f'<a href="{BASE}/?{_e(urlencode({"trace_id": value}))}"><code>{_e(value)}</code></a>'
    return _e(value)


def _findings(record: Mapping[str, Any]) -> str:
    dlp = record.get("dlp") or {}
    rows = [
        f"<tr><td>{direction}</td><td>{_e(item.get('entity'))}</td>"
        f"<td><code>{_e(path_for_message(str(item.get('path', ''))))}</code></td>"
        f'<td class="num">{_e(item.get("score"))}</td><td>{_e(item.get("action"))}</td></tr>'
        for direction in ("ingress", "egress")
        for item in dlp.get(direction) or ()
        if isinstance(item, dict)
    ]
    if not rows:
        return '<p id="findings">No DLP findings.</p>'
    head = "<tr><th>direction</th><th>entity</th><th>path</th><th>score</th><th>action</th></tr>"
    return f'<table id="findings">{head}{"".join(rows)}</table>'


def _budget(record: Mapping[str, Any]) -> str:
    budget = record.get("budget") or {}
    remaining = budget.get("remaining") or {}
    pairs = [(f"remaining {name}", _e("unlimited" if room is None else room)) for name, room in remaining.items()]
    pairs += [(key, _e(budget[key])) for key in ("exceeded", "cost", "fallback_from", "fallback_to") if key in budget]
    return _table(pairs, "budget") if pairs else '<p id="budget">No budget state recorded.</p>'


def _waterfall(rows: list[Row]) -> str:
    total = max((row.offset_ms + row.duration_ms for row in rows), default=0.0) or 1.0
    height = 22
    lines = []
    for row in rows:
        x = row.offset_ms / total * _WATERFALL_WIDTH
        width = max(row.duration_ms / total * _WATERFALL_WIDTH, 1.0)
        status = row.status if row.status in ("ERROR", "UNSET") else "ok"
        detail = f" — {row.status_detail}" if row.status_detail else ""
        label = "  " * row.depth + row.name
        lines.append(
            f'<tr class="span"><td><code>{_e(label)}</code></td>'
            f'<td class="num">{row.offset_ms:.3f}</td><td class="num span-ms">{row.duration_ms:.3f}</td>'
            f'<td class="{"error" if row.status == "ERROR" else ""}">{_e(row.status)}{_e(detail)}</td>'
            f'<td><svg width="{_WATERFALL_WIDTH}" height="{height - 6}" role="img" aria-label="{_e(row.name)}">'
            f'<rect class="{status}" x="{x:.1f}" y="2" width="{width:.1f}" height="{height - 10}"/></svg></td></tr>'
        )
    head = "<tr><th>span</th><th>start ms</th><th>ms</th><th>status</th><th>timeline</th></tr>"
    return f'<table id="trace">{head}{"".join(lines)}</table>'


def _span_attributes(rows: list[Row]) -> str:
    if not rows:
        return ""
    own = sorted((key, value) for key, value in rows[0].attributes.items() if key.startswith("mcp_gateway."))
    return _table(((key, _e(value)) for key, value in own), "call-attributes") if own else ""


def detail_page(record: Mapping[str, Any], rows: list[Row], trace_note: str, nonce: str, who: str) -> str:
    summary = _table(((key, _shown(key, record[key])) for key in _SUMMARY if key in record), "record")
    hashes = _table(
        ((key, f"<code>{_e(record[key])}</code>") for key in ("arguments_hmac", "result_hmac") if key in record),
        "hashes",
    )
    trace = f'<p id="trace-note" class="muted">{_e(trace_note)}</p>' if trace_note else ""
    if rows:
        trace += _waterfall(rows) + _span_attributes(rows)
    body = (
        f"{summary}<h2>DLP findings</h2>{_findings(record)}<h2>Budget</h2>{_budget(record)}"
        f"<h2>Trace</h2>{trace}<h2>Keyed hashes</h2>"
        '<p class="muted">Argument and result values are never recorded; equal values have equal hashes.</p>'
        f"{hashes}"
    )
    return layout(f"Call {record.get('seq')}: {record.get('tool')}", body, nonce, who)
