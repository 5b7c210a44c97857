"""One call's trace, laid out for a waterfall: its SERVER span and every span below it, each with
its depth, offset from the call's start and duration.

A trace can hold more than one call (a client that sends its own `traceparent` may put a whole
session in one trace), so the call's own span is the one carrying the audit record's seq
(`mcp_gateway.audit.seq`); without it (tracing was on, the audit record was not written) the
trace's tools/call spans are all shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

AUDIT_SEQ = "mcp_gateway.audit.seq"


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    depth: int
    offset_ms: float
    duration_ms: float
    status: str
    """OK, ERROR or UNSET; ERROR rows carry the reason (a refusal code) in `status_detail`."""
    status_detail: str
    attributes: dict[str, Any]


def _start(span: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(span["start"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None


def _roots(spans: list[dict[str, Any]], seq: int | None) -> list[dict[str, Any]]:
    servers = [span for span in spans if span.get("kind") == "SERVER"]
    if seq is not None:
        own = [span for span in servers if (span.get("attributes") or {}).get(AUDIT_SEQ) == seq]
        if own:
            return own
    ids = {span.get("span_id") for span in spans}
    return [span for span in servers if span.get("parent_id") not in ids] or servers


def call_rows(spans: list[dict[str, Any]], seq: int | None) -> list[Row]:
    """The rows of the call numbered `seq` in the audit log, in tree order (parents first)."""
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        children[span.get("parent_id")].append(span)
    roots = _roots(spans, seq)
    origin = min((moment for root in roots if (moment := _start(root)) is not None), default=None)
    rows: list[Row] = []

    def walk(span: dict[str, Any], depth: int) -> None:
        start = _start(span)
        offset = (start - origin).total_seconds() * 1000 if start is not None and origin is not None else 0.0
        status = span.get("status") or {}
        rows.append(
            Row(
                name=str(span.get("name", "")),
                depth=depth,
                offset_ms=round(offset, 3),
                duration_ms=float(span.get("duration_ms") or 0.0),
                status=str(status.get("code", "UNSET")),
                status_detail=str(status.get("description", "")),
                attributes=dict(span.get("attributes") or {}),
            )
        )
        if depth < 32:  # a trace is a tree; a malformed file must not recurse without end
            for child in sorted(children.get(span.get("span_id"), []), key=lambda item: str(item.get("start", ""))):
                walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return rows
