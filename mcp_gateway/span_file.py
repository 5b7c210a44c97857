"""The span file: finished spans as JSON lines that auditors (and the `/audit` page) can read.

One object per span: `trace_id`, `span_id`, `parent_id`, `name`, `kind`, `start`/`end` (ISO
8601, UTC, microseconds), `duration_ms`, `status`, `attributes`, `events`, `service`. The file
holds what the spans hold and no more: the stages put names, codes, counts, entity types and
JSON paths on them, never argument or result values (tests/e2e/test_observability.py plants
values and looks for them). It is created 0600 in a 0700 directory, appended to, and rotated by
size (`spans.jsonl.1` is the newest rotated file); the exporter runs on the batch processor's
thread, never on the event loop.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from mcp_gateway.errors import GatewayError

logger = logging.getLogger(__name__)
MAX_SPANS_READ: Final = 5000


class SpanFileError(GatewayError):
    """The span file cannot be opened (the gateway does not start without the file it was told to write)."""


def iso_time(nanoseconds: int) -> str:
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """The JSON object written for `span`."""
    context = span.context
    start, end = span.start_time or 0, span.end_time or span.start_time or 0
    status: dict[str, str] = {"code": span.status.status_code.name}
    if span.status.description:
        status["description"] = span.status.description
    return {
        "trace_id": f"{context.trace_id:032x}" if context is not None else None,
        "span_id": f"{context.span_id:016x}" if context is not None else None,
        "parent_id": f"{span.parent.span_id:016x}" if span.parent is not None else None,
        "name": span.name,
        "kind": span.kind.name,
        "start": iso_time(start),
        "end": iso_time(end),
        "duration_ms": round((end - start) / 1e6, 3),
        "status": status,
        "attributes": dict(span.attributes or {}),
        "events": [
            {"name": event.name, "time": iso_time(event.timestamp), "attributes": dict(event.attributes or {})}
            for event in span.events
        ],
        "service": span.resource.attributes.get("service.name"),
    }


def _make_private_dirs(directory: Path) -> None:
    """Create the missing directories 0700; existing ones are the operator's and stay as they are."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)


class JsonlSpanExporter(SpanExporter):
    def __init__(self, path: Path, *, max_bytes: int = 64 << 20, keep: int = 4) -> None:
        self.path, self._max_bytes, self._keep = path, max_bytes, keep
        self._lock = threading.Lock()
        self._failing = False
        try:
            _make_private_dirs(path.parent)
            self._fd = self._open()
        except OSError as exc:
            raise SpanFileError(f"the span file {path} cannot be opened: {exc.strerror or exc}") from None
        self._size = os.fstat(self._fd).st_size

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.path, flags, 0o600)
        os.fchmod(fd, 0o600)
        return fd

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        data = b"".join(orjson.dumps(span_record(span), default=str) + b"\n" for span in spans)
        with self._lock:
            if self._fd < 0:
                return SpanExportResult.FAILURE
            try:
                os.write(self._fd, data)
                self._size += len(data)
                if self._size >= self._max_bytes:
                    self._rotate()
            except OSError as exc:
                if not self._failing:  # once per spell of failures, not once per batch
                    logger.warning("cannot write spans to %s: %s", self.path, exc.strerror or exc)
                self._failing = True
                return SpanExportResult.FAILURE
        self._failing = False
        return SpanExportResult.SUCCESS

    def _rotate(self) -> None:
        os.close(self._fd)
        self._fd = -1
        if self._keep == 0:
            self.path.unlink(missing_ok=True)
        else:
            for number in range(self._keep - 1, 0, -1):
                older = rotated(self.path, number)
                if older.exists():
                    older.replace(rotated(self.path, number + 1))
            self.path.replace(rotated(self.path, 1))
        self._fd, self._size = self._open(), 0

    def shutdown(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every batch is written when exported; there is no buffer of our own


def rotated(path: Path, number: int) -> Path:
    return path.with_name(f"{path.name}.{number}")


def span_files(path: Path) -> list[Path]:
    """The span file and its rotated predecessors, oldest first."""
    older = []
    number = 1
    while (candidate := rotated(path, number)).exists():
        older.append(candidate)
        number += 1
    return [*reversed(older), *([path] if path.exists() else [])]


def read_spans(path: Path, trace_id: str) -> list[dict[str, Any]]:
    """Every span of the trace `trace_id` (32 hex digits) found in the span files, by start time."""
    needle = f'"trace_id":"{trace_id}"'.encode()
    found: list[dict[str, Any]] = []
    for line in _lines(path):
        if needle not in line:
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a line being written, or a damaged one
        if isinstance(record, dict) and record.get("trace_id") == trace_id:
            found.append(record)
            if len(found) >= MAX_SPANS_READ:
                break
    return sorted(found, key=lambda record: str(record.get("start", "")))


def _lines(path: Path) -> Iterator[bytes]:
    for file in span_files(path):
        try:
            with file.open("rb") as handle:
                yield from handle
        except FileNotFoundError:
            continue  # rotated away while we were reading
