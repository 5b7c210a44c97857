"""The budget ledger: every principal's counters, kept where the hot path can reach them cheaply.

- Cost units and result bytes per UTC day live in memory for today and are written through to
  SQLite (`<state_dir>/budgets.sqlite3`) in batches: the first change after a write wakes
  `run_flusher`, which waits `flush_interval` seconds so that a burst of calls costs one write.
  A crash loses at most that interval; `aclose()` writes the rest, so a clean stop loses nothing.
- Calls per minute is a sliding window of call times, in memory only: after a restart the
  window is at most a minute stale, and persisting it would put a write on every call.
- Concurrent calls are in memory only: no call survives a restart.

The hot path (`usage`, `recent_calls`, `enter`, `add`, ...) is synchronous and does no I/O;
every database operation runs in a worker thread, one at a time. Time comes from `clock`
(POSIX seconds, `time.time` by default) so tests move it forward instead of waiting.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import anyio

from mcp_gateway.budgets.errors import BudgetStoreError
from mcp_gateway.budgets.store import Row, UsageStore

LEDGER_FILE: Final = "budgets.sqlite3"
DAY: Final = 86_400
WINDOW: Final = 60.0

log = logging.getLogger(__name__)


def day_label(day: int) -> str:
    return datetime.fromtimestamp(day * DAY, UTC).date().isoformat()


@dataclass(slots=True)
class Usage:
    """One principal's spending on one UTC day (days counted from the epoch)."""

    principal: str
    day: int
    cost_units: int = 0
    result_bytes: int = 0

    @property
    def resets_at(self) -> float:
        return float((self.day + 1) * DAY)


class BudgetLedger:
    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time, flush_interval: float = 1.0) -> None:
        self.path = path
        self.now = clock
        self._flush_interval = flush_interval
        self._store: UsageStore | None = None
        self._day = -1
        self._usage: dict[str, Usage] = {}
        self._dirty: dict[tuple[int, str], Usage] = {}
        self._windows: dict[str, deque[float]] = {}
        self._running: dict[str, int] = {}
        # Created in open(): anyio primitives belong to the event loop that uses them.
        self._write_lock: anyio.Lock | None = None
        self._wake: anyio.Event | None = None

    @classmethod
    def in_state_dir(
        cls, state_dir: Path, *, clock: Callable[[], float] = time.time, flush_interval: float = 1.0
    ) -> BudgetLedger:
        return cls(state_dir / LEDGER_FILE, clock=clock, flush_interval=flush_interval)

    # --- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        """Open the database and load today's counters. Raises BudgetStoreError."""
        if self._store is not None:
            return
        self._write_lock, self._wake = anyio.Lock(), anyio.Event()
        self._day = int(self.now() // DAY)
        today = day_label(self._day)
        self._store = await anyio.to_thread.run_sync(UsageStore.open, self.path, today)
        loaded = await anyio.to_thread.run_sync(self._store.load_day, today)
        self._usage = {name: Usage(name, self._day, cost, size) for name, (cost, size) in loaded.items()}

    async def aclose(self) -> None:
        """Write every pending change and close the database. Safe to call twice."""
        if self._store is None:
            return
        with anyio.CancelScope(shield=True):  # closing while cancelled must still save the day
            try:
                await self.flush()
            finally:
                store, self._store = self._store, None
                await anyio.to_thread.run_sync(store.close)

    async def __aenter__(self) -> BudgetLedger:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def run_flusher(self) -> None:
        """Write changes in batches until cancelled; run it in the gateway's task group."""
        while True:
            assert self._wake is not None, "open() the ledger before running its flusher"
            await self._wake.wait()
            await anyio.sleep(self._flush_interval)
            try:
                await self.flush()
            except BudgetStoreError as exc:
                # Keep counting in memory and retry at the next interval; the counters are not
                # lost unless the gateway stops before the disk comes back.
                log.warning("budget ledger write failed, will retry: %s", exc)

    async def flush(self) -> None:
        """Write the counters changed since the last write (a no-op when there are none)."""
        if self._store is None or self._write_lock is None:
            return
        async with self._write_lock:  # one write at a time, so an older batch never lands last
            if not self._dirty:
                return
            batch, self._dirty = self._dirty, {}
            self._wake = anyio.Event()
            rows: list[Row] = [
                (day_label(day), name, usage.cost_units, usage.result_bytes) for (day, name), usage in batch.items()
            ]
            try:
                await anyio.to_thread.run_sync(self._store.write, rows)
            except BudgetStoreError:
                for key, usage in batch.items():
                    self._mark(key, usage)
                raise

    # --- the hot path ------------------------------------------------------------------------
    def usage(self, principal: str, now: float) -> Usage:
        """`principal`'s spending today (a fresh day starts at UTC midnight)."""
        if self._store is None:
            raise RuntimeError("the budget ledger is not open")
        day = int(now // DAY)
        # Only forward: a clock stepped back across midnight must not restart a spent day.
        if day > self._day:
            self._day, self._usage = day, {}
        found = self._usage.get(principal)
        if found is None:
            found = self._usage[principal] = Usage(principal, self._day)
        return found

    def add(self, usage: Usage, *, cost_units: int = 0, result_bytes: int = 0) -> None:
        """Count (or, with a negative amount, give back) spending on `usage`'s day."""
        usage.cost_units = max(0, usage.cost_units + cost_units)
        usage.result_bytes = max(0, usage.result_bytes + result_bytes)
        self._mark((usage.day, usage.principal), usage)

    def recent_calls(self, principal: str, now: float) -> deque[float]:
        """The times of `principal`'s calls in the last minute, oldest first."""
        window = self._windows.get(principal)
        if window is None:
            window = self._windows[principal] = deque()
        horizon = now - WINDOW
        while window and window[0] <= horizon:
            window.popleft()
        return window

    def running(self, principal: str) -> int:
        return self._running.get(principal, 0)

    def enter(self, principal: str) -> None:
        self._running[principal] = self._running.get(principal, 0) + 1

    def leave(self, principal: str) -> None:
        left = self._running.get(principal, 0) - 1
        if left > 0:
            self._running[principal] = left
        else:
            self._running.pop(principal, None)

    def _mark(self, key: tuple[int, str], usage: Usage) -> None:
        if not self._dirty and self._wake is not None:
            self._wake.set()
        self._dirty[key] = usage
