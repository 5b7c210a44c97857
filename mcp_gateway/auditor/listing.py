"""What the auditor page reads from the audit log: tool-call records, newest first, a page at a
time, filtered as the query string asks; and one record by its seq.

The log is read from the start on every page (it is a chain of files, not a database); only a
page's worth of records is held, so memory stays bounded whatever the log's size. Reading runs
on a worker thread, never on the event loop.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from mcp_gateway.audit.query import Filter

RecordReader = Callable[[Filter], Iterator[dict[str, Any]]]
"""(filter) -> the matching records, oldest first (`audit.query.records` on the log's directory)."""

MAX_PAGE: Final = 1000
_TEXT_LIMIT: Final = 200
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
FIELDS: Final = ("principal", "tool", "decision", "since", "until", "trace_id")


@dataclass(frozen=True, slots=True)
class Query:
    """The list's filters as given (for the form) and as parsed (for the log)."""

    values: dict[str, str] = field(default_factory=dict)
    where: Filter = field(default_factory=lambda: Filter(event="tool_call"))
    page: int = 1
    problems: tuple[str, ...] = ()


def parse_query(params: Mapping[str, str]) -> Query:
    """Filters from the query string; a bad value is named in `problems` and left out."""
    values = {name: params.get(name, "").strip()[:_TEXT_LIMIT] for name in FIELDS}
    problems: list[str] = []
    decision = values["decision"] or None
    if decision not in (None, "allow", "deny"):
        problems.append("decision is allow or deny")
        decision = None
    trace_id = values["trace_id"].lower() or None
    if trace_id is not None and not _TRACE_ID.fullmatch(trace_id):
        problems.append("a trace id is 32 hex digits")
        trace_id = None
    since, until = _moment(values["since"], "since", problems), _moment(values["until"], "until", problems)
    try:
        page = min(max(int(params.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        page = 1
    where = Filter(
        principal=values["principal"] or None,
        tool=values["tool"] or None,
        decision=decision,
        event="tool_call",
        since=since,
        until=until,
        trace_id=trace_id,
    )
    return Query(values, where, page, tuple(problems))


def _moment(text: str, name: str, problems: list[str]) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"{name} is an ISO 8601 date or time (UTC unless it has an offset)")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Page:
    records: list[dict[str, Any]]
    """Newest first."""
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def page_of(read: RecordReader, query: Query, size: int) -> Page:
    """Page `query.page` of the matching records, newest first."""
    window: deque[dict[str, Any]] = deque(maxlen=query.page * size)
    total = 0
    for record in read(query.where):
        window.append(record)
        total += 1
    skip = (query.page - 1) * size
    shown = list(window)[: max(0, len(window) - skip)][-size:]
    return Page(list(reversed(shown)), total, query.page, size)


def record_by_seq(read: RecordReader, seq: int) -> dict[str, Any] | None:
    """The tool-call record numbered `seq`, if there is one."""
    for record in read(Filter(event="tool_call")):
        if record.get("seq") == seq:
            return record
    return None
