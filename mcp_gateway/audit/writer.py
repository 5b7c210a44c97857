"""The audit writer: records become durable, in order, with group commit; failure fails closed.

`append()` queues a record and waits until it is on disk. The flusher task (`run`) wakes on the
first record, yields once so that every caller already ready queues its record too, then
numbers and chains them all, writes them with one `write` and makes them durable with one
`fsync`: concurrent calls share an fsync. The flush runs on the event loop's own thread: handing
each batch to a writer thread and back costs more than the fsync itself (measured: 0.2 ms of
hand-offs against a 0.13 ms fsync), and no caller's result can leave before its record is
durable anyway (ADR 0012).

If the write or the fsync fails (a full disk, a revoked permission), the file is cut back to its
last durable length, every caller in the batch gets `AuditUnavailable` (so its call is refused),
and the next batch tries again.

At open, a last line that is incomplete (the process died while writing it, so no caller was
ever told it was durable) is cut off, and the log continues from the last complete line, whose
MAC is checked against the one before it. Files rotate by size or age; the chain runs on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.lowlevel
from anyio.abc import TaskStatus

from mcp_gateway.audit.chain import GENESIS, BadLine, open_line, seal, seq_of
from mcp_gateway.audit.checkpoints import Checkpointer
from mcp_gateway.audit.errors import AuditLogError, AuditUnavailable
from mcp_gateway.audit.segments import number_of, segment_name, segments, write_format

logger = logging.getLogger(__name__)
TICK_SECONDS: Final = 1.0
_TAIL_BYTES: Final = 1 << 20


class _Slot:
    """One record waiting to become durable, and how it went."""

    __slots__ = ("done", "error", "fields", "seq")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields, self.done = fields, anyio.Event()
        self.seq, self.error = 0, ""


class AuditWriter:
    def __init__(
        self,
        directory: Path,
        chain_key: bytes,
        *,
        checkpointer: Checkpointer | None = None,
        max_file_bytes: int = 64 << 20,
        max_file_seconds: float = 24 * 3600,
        sync: Callable[[int], None] = os.fsync,
    ) -> None:
        self.directory, self._key, self._checkpointer = directory, chain_key, checkpointer
        self._max_bytes, self._max_seconds, self._sync = max_file_bytes, max_file_seconds, sync
        self._pending: list[_Slot] = []
        self._wake = anyio.Event()
        self._open = False
        self._fd = -1
        self._segment = 0
        self._size = 0
        self._opened_at = 0.0
        self.seq = 0
        self._mac = GENESIS
        self.healthy = True
        """False after a failed batch until one succeeds (for health reports)."""

    # --- lifecycle ------------------------------------------------------------------------
    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        files = segments(self.directory)
        if not files:  # a new log states its format (`mcp-gateway migrate` reads it)
            write_format(self.directory)
        if files:
            self._recover(files)
            self._segment = number_of(files[-1])
            self._open_segment(self._segment)
        else:
            self._segment = 1
            self._open_segment(1)
        if self._checkpointer is not None:
            self._checkpointer.open()
        self._open = True

    def close(self) -> None:
        """Flush what is queued, write a last checkpoint, close the file."""
        if self._pending:
            self._commit(self._pending)
            self._pending = []
        if self._checkpointer is not None and self._open:
            self._guard(self._checkpointer.write)
        self._open = False
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _recover(self, files: list[Path]) -> None:
        """Continue from the last complete line, cutting off a torn one."""
        for path in reversed(files):
            size = path.stat().st_size
            data = _tail(path, size)
            kept = size - len(data) + data.rfind(b"\n") + 1
            if kept != size:
                logger.warning("audit: %s ended in an incomplete line (never acknowledged); cut off", path.name)
                with path.open("r+b") as handle:
                    handle.truncate(kept)
                    os.fsync(handle.fileno())
                data = data[: data.rfind(b"\n") + 1]
            lines = _whole_lines(data, kept)
            if not lines:
                continue
            try:
                self.seq = seq_of(lines[-1])
                self._mac = self._mac_of_last(lines, files, path)
            except BadLine as exc:
                raise AuditLogError(
                    f"the audit log's last record ({path.name}) does not verify ({exc}); run `mcp-gateway audit "
                    "verify` and see the runbook for a broken chain"
                ) from None
            return

    def _mac_of_last(self, lines: list[bytes], files: list[Path], path: Path) -> bytes:
        if len(lines) >= 2:
            previous = bytes.fromhex(lines[-2][-67:-3].decode("ascii"))
        else:
            before = files[: files.index(path)]
            earlier = [line for f in before for line in _whole_lines(_tail(f, f.stat().st_size), 0)[-1:]]
            previous = bytes.fromhex(earlier[-1][-67:-3].decode("ascii")) if earlier else GENESIS
        return open_line(lines[-1], previous, self._key)

    def _open_segment(self, number: int) -> None:
        path = self.directory / segment_name(number)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._opened_at = time.monotonic()

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[AuditWriter]:
        """Open, run the flusher, and close on the way out (for callers without a task group)."""
        self.open()
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(self.run)
                try:
                    yield self
                finally:
                    tg.cancel_scope.cancel()
        finally:
            self.close()

    # --- appending ------------------------------------------------------------------------
    async def append(self, fields: dict[str, Any]) -> int:
        """Make a record durable (its `seq` is assigned here); its seq, or `AuditUnavailable`."""
        if not self._open:
            raise AuditUnavailable("the audit log is not open")
        if "seq" in fields:  # the chain's own number: a field by that name would overwrite it
            raise ValueError("an audit record's fields may not include 'seq'")
        slot = _Slot(fields)
        self._pending.append(slot)
        self._wake.set()
        # A caller cancelled meanwhile cancels only its wait: its record is still written.
        await slot.done.wait()
        if slot.error:
            raise AuditUnavailable(slot.error)
        return slot.seq

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The flusher: one batch per wake-up; checkpoints by time when idle."""
        task_status.started()
        while True:
            with anyio.move_on_after(TICK_SECONDS):
                await self._wake.wait()
            if not self._pending:
                self._tick()
                continue
            await anyio.lowlevel.checkpoint()  # every caller already ready queues its record first
            self._wake = anyio.Event()
            batch, self._pending = self._pending, []
            self._commit(batch)

    def _tick(self) -> None:
        if self._checkpointer is not None:
            self._guard(self._checkpointer.tick)

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except OSError as exc:  # a checkpoint that cannot be written is loud, but records go on
            logger.error("audit: cannot write a checkpoint: %s", exc)

    def _commit(self, batch: list[_Slot]) -> None:
        seq, mac = self.seq, self._mac
        lines = []
        for slot in batch:
            seq += 1
            line, mac = seal({"seq": seq, **slot.fields}, mac, self._key)
            lines.append(line)
        data = b"".join(lines)
        try:
            self._rotate_if_due(len(data))
            good = self._size
            try:
                _write_all(self._fd, data)
                self._sync(self._fd)
            except OSError:
                _cut_back(self._fd, good)
                raise
        except OSError as exc:
            self.healthy = False
            logger.error("audit: cannot write %d record(s): %s; their calls are refused", len(batch), exc)
            for slot in batch:
                slot.error = f"the audit log cannot be written ({exc.strerror or exc})"
                slot.done.set()
            return
        self.healthy = True
        self._size += len(data)
        first = self.seq + 1
        self.seq, self._mac = seq, mac
        for offset, slot in enumerate(batch):
            slot.seq = first + offset
            slot.done.set()
        if self._checkpointer is not None:
            self._guard(lambda: self._checkpointer.committed(seq, mac, segment_name(self._segment)))  # type: ignore[union-attr]

    def _rotate_if_due(self, incoming: int) -> None:
        too_big = self._size > 0 and self._size + incoming > self._max_bytes
        too_old = self._size > 0 and time.monotonic() - self._opened_at > self._max_seconds
        if not (too_big or too_old):
            return
        self._sync(self._fd)
        os.close(self._fd)
        self._segment += 1
        self._open_segment(self._segment)
        _sync_dir(self.directory)


def _tail(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(max(0, size - _TAIL_BYTES))
        return handle.read()


def _whole_lines(data: bytes, kept: int) -> list[bytes]:
    """The complete lines of a file's tail (the first may be cut when the tail is not the file)."""
    lines = data.splitlines(keepends=True)
    return lines[1:] if len(data) < kept and lines else lines


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _cut_back(fd: int, size: int) -> None:
    try:
        os.ftruncate(fd, size)
    except OSError as exc:
        logger.error("audit: cannot cut the log back to its last durable length: %s", exc)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
