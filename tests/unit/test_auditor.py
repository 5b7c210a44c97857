"""The auditor page's parts: filters from a query string, pages newest first, sessions, a call's
trace laid out, and HTML that escapes what it shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from mcp_gateway.audit.query import Filter
from mcp_gateway.auditor import pages
from mcp_gateway.auditor.listing import Page, page_of, parse_query, record_by_seq
from mcp_gateway.auditor.sessions import MAX_SESSIONS, Sessions
from mcp_gateway.auditor.trace_view import call_rows

RECORDS = [
    {
        "seq": n,
        "event": "tool_call",
        "time": f"2026-12-01T10:{n:02d}:00+00:00",
        "principal": "alice" if n % 2 else "bob",
        "tool": "fs.read_file" if n % 3 else "notes.put",
        "decision": "deny" if n == 5 else "allow",
    }
    for n in range(1, 24)
]


def _read(where: Filter) -> Iterator[dict[str, Any]]:
    return (record for record in RECORDS if where.matches(record))


def test_filters_are_parsed_and_bad_ones_named() -> None:
    query = parse_query({"principal": " alice ", "tool": "fs.*", "decision": "maybe", "since": "2026-12-01T10:05"})
    assert query.where.principal == "alice" and query.where.tool == "fs.*" and query.where.decision is None
    assert query.where.since == datetime(2026, 12, 1, 10, 5, tzinfo=UTC) and query.where.event == "tool_call"
    assert query.problems == ("decision is allow or deny",)
    bad = parse_query({"trace_id": "xyz", "until": "yesterday", "page": "-3"})
    assert len(bad.problems) == 2 and bad.where.trace_id is None and bad.page == 1


def test_pages_run_newest_first() -> None:
    first = page_of(_read, parse_query({}), 10)
    assert [r["seq"] for r in first.records] == list(range(23, 13, -1)) and first.total == 23 and first.pages == 3
    last = page_of(_read, parse_query({"page": "3"}), 10)
    assert [r["seq"] for r in last.records] == [3, 2, 1]
    beyond = page_of(_read, parse_query({"page": "9"}), 10)
    assert beyond.records == [] and beyond.total == 23
    alice = page_of(_read, parse_query({"principal": "alice", "decision": "deny"}), 10)
    assert [r["seq"] for r in alice.records] == [5]
    assert record_by_seq(_read, 7) == RECORDS[6] and record_by_seq(_read, 99) is None


def test_sessions_expire_and_stay_bounded() -> None:
    now = [0.0]
    sessions = Sessions(60, clock=lambda: now[0])
    first = sessions.open("token-1")
    assert sessions.token_of(first) == "token-1" and sessions.token_of("forged") is None
    assert "token-1" not in repr(sessions._by_id[first])
    now[0] = 61
    assert sessions.token_of(first) is None
    for index in range(MAX_SESSIONS + 5):
        sessions.open(f"t{index}")
    assert len(sessions) == MAX_SESSIONS


def _span(name: str, span_id: str, parent: str | None, start: str, ms: float, **attributes: Any) -> dict[str, Any]:
    kind = "SERVER" if parent is None else "INTERNAL"
    return {
        "name": name,
        "span_id": span_id,
        "parent_id": parent,
        "kind": kind,
        "duration_ms": ms,
        "start": f"2026-12-01T10:00:00.{start}Z",
        "status": {"code": "UNSET"},
        "attributes": attributes,
    }


def test_a_calls_rows_are_its_own_span_tree_even_in_a_shared_trace() -> None:
    spans = [
        _span("tools/call a.x", "1", None, "000000", 5.0, **{"mcp_gateway.audit.seq": 1}),
        _span("stage audit", "2", "1", "001000", 3.0),
        _span("stage authz", "3", "2", "002000", 1.0),
        _span("tools/call b.y", "9", None, "010000", 2.0, **{"mcp_gateway.audit.seq": 2}),
    ]
    rows = call_rows(spans, 1)
    assert [(row.name, row.depth, row.offset_ms) for row in rows] == [
        ("tools/call a.x", 0, 0.0),
        ("stage audit", 1, 1.0),
        ("stage authz", 2, 2.0),
    ]
    assert [row.name for row in call_rows(spans, None)] == [
        "tools/call a.x",
        "stage audit",
        "stage authz",
        "tools/call b.y",
    ]


def test_pages_escape_what_they_show_and_elide_keys_in_paths() -> None:
    finding = {"entity": "EMAIL_ADDRESS", "path": '$.to["dana@example.org"]#key', "action": "allow"}
    record = {
        "seq": 1,
        "tool": "<script>alert(1)</script>",
        "principal": '"><img src=x>',
        "decision": "allow",
        "dlp": {"ingress": [finding]},
    }
    html = pages.detail_page(record, [], "", "nonce123", "audrey")
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "<img src=x>" not in html
    assert "dana@example.org" not in html and "$.to[…]#key" in html
    assert '<style nonce="nonce123">' in html and "<script" not in html
    listing = pages.list_page(Page([record], 1, 1, 50), parse_query({"tool": '"><b>'}), "n", "audrey")
    assert '"><b>' not in listing
