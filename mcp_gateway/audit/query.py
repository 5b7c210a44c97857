"""Reading the log for auditors: filtered records, and following the log as it grows."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mcp_gateway.audit.chain import fields_of
from mcp_gateway.audit.segments import segments


@dataclass(frozen=True, slots=True)
class Filter:
    principal: str | None = None
    tool: str | None = None
    """A canonical name or a glob (`fs.*`)."""
    decision: str | None = None
    event: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    trace_id: str | None = None

    def matches(self, record: dict[str, Any]) -> bool:
        if self.principal is not None and record.get("principal") != self.principal:
            return False
        if self.tool is not None and not fnmatch.fnmatchcase(str(record.get("tool", "")), self.tool):
            return False
        if self.decision is not None and record.get("decision") != self.decision:
            return False
        if self.event is not None and record.get("event") != self.event:
            return False
        if self.trace_id is not None and record.get("trace_id") != self.trace_id:
            return False
        if self.since is not None or self.until is not None:
            moment = _moment(record)
            if moment is None:
                return False
            if self.since is not None and moment < self.since:
                return False
            if self.until is not None and moment > self.until:
                return False
        return True


def _moment(record: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(record["time"]))
    except (KeyError, ValueError):
        return None


def records(directory: Path, where: Filter | None = None) -> Iterator[dict[str, Any]]:
    """Every record in order (lines that do not parse are skipped: `verify` reports them)."""
    for path in segments(directory):
        with path.open("rb") as handle:
            for line in handle:
                try:
                    record = fields_of(line)
                except ValueError:
                    continue
                if where is None or where.matches(record):
                    yield record


def follow(directory: Path, where: Filter | None = None, poll: float = 0.5) -> Iterator[dict[str, Any]]:
    """Records appended from now on (across rotations), until interrupted. Only complete lines
    are read: a record being written is picked up on the next poll."""
    files = segments(directory)
    current = files[-1].name if files else ""
    offset = files[-1].stat().st_size if files else 0
    while True:
        for path in segments(directory):
            if path.name < current:
                continue
            if path.name > current:
                current, offset = path.name, 0
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
            complete = data[: data.rfind(b"\n") + 1]
            offset += len(complete)
            for line in complete.splitlines():
                try:
                    record = fields_of(line)
                except ValueError:
                    continue
                if where is None or where.matches(record):
                    yield record
        time.sleep(poll)
