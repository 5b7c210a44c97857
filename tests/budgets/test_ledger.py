"""The ledger keeps each day's spending across restarts, in a private SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from mcp_gateway.budgets.config import BudgetConfig, Limits
from mcp_gateway.budgets.errors import BudgetExceeded, BudgetStoreError
from mcp_gateway.budgets.ledger import LEDGER_FILE, BudgetLedger
from mcp_gateway.budgets.store import RETAINED_DAYS
from tests.budgets.support import Endpoint, FakeClock, call_of, chain, entry

pytestmark = pytest.mark.anyio


def stored(path: Path) -> list[tuple[str, str, int, int]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT day, principal, cost_units, result_bytes FROM usage ORDER BY principal").fetchall()


async def test_cost_units_and_bytes_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    config = BudgetConfig(default=Limits(cost_units_per_day=10))
    async with BudgetLedger.in_state_dir(tmp_path, clock=clock) as ledger:
        await chain(ledger, config, Endpoint())(call_of(entry(cost=7), text="abc"))
        spent = ledger.usage("alice", clock.now).result_bytes
    assert spent > 0
    # Nothing is lost on a clean stop, though no flusher ran.
    assert stored(tmp_path / LEDGER_FILE) == [("2026-03-14", "alice", 7, spent)]

    async with BudgetLedger.in_state_dir(tmp_path, clock=clock) as ledger:
        usage = ledger.usage("alice", clock.now)
        assert (usage.cost_units, usage.result_bytes) == (7, spent)
        with pytest.raises(BudgetExceeded, match="7 of 10 used today"):
            await chain(ledger, config, Endpoint())(call_of(entry(cost=4)))

    clock.advance(12 * 3600)
    async with BudgetLedger.in_state_dir(tmp_path, clock=clock) as ledger:
        assert ledger.usage("alice", clock.now).cost_units == 0


async def test_a_day_that_ends_while_running_is_kept_under_its_own_date(tmp_path: Path, clock: FakeClock) -> None:
    async with BudgetLedger.in_state_dir(tmp_path, clock=clock) as ledger:
        ledger.add(ledger.usage("alice", clock.now), cost_units=3)
        clock.advance(12 * 3600)
        ledger.add(ledger.usage("alice", clock.now), cost_units=5)
    assert sorted(stored(tmp_path / LEDGER_FILE)) == [("2026-03-14", "alice", 3, 0), ("2026-03-15", "alice", 5, 0)]


async def test_a_clock_stepped_back_does_not_restart_a_spent_day(ledger: BudgetLedger, clock: FakeClock) -> None:
    clock.advance(12 * 3600)
    ledger.add(ledger.usage("alice", clock.now), cost_units=5)
    clock.advance(-60)
    assert ledger.usage("alice", clock.now).cost_units == 5


async def test_the_file_is_private_and_in_wal_mode(ledger: BudgetLedger) -> None:
    ledger.add(ledger.usage("alice", ledger.now()), cost_units=1)
    await ledger.flush()
    for path in (ledger.path, ledger.path.with_name(LEDGER_FILE + "-wal")):
        assert path.stat().st_mode & 0o777 == 0o600, path
    with sqlite3.connect(ledger.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_the_flusher_writes_changes_while_running(tmp_path: Path, clock: FakeClock) -> None:
    async with BudgetLedger.in_state_dir(tmp_path, clock=clock, flush_interval=0) as ledger:
        async with anyio.create_task_group() as tg:
            tg.start_soon(ledger.run_flusher)
            ledger.add(ledger.usage("alice", clock.now), cost_units=2, result_bytes=9)
            with anyio.fail_after(5):
                while not await anyio.to_thread.run_sync(stored, ledger.path):
                    await anyio.lowlevel.checkpoint()
            tg.cancel_scope.cancel()
        assert stored(ledger.path) == [("2026-03-14", "alice", 2, 9)]


async def test_old_days_are_dropped_at_open(tmp_path: Path, clock: FakeClock) -> None:
    async with BudgetLedger.in_state_dir(tmp_path, clock=clock) as ledger:
        ledger.add(ledger.usage("alice", clock.now), cost_units=1)
    clock.advance(RETAINED_DAYS * 86_400)
    async with BudgetLedger.in_state_dir(tmp_path, clock=clock):
        assert stored(tmp_path / LEDGER_FILE) == [("2026-03-14", "alice", 1, 0)]
    clock.advance(86_400)
    async with BudgetLedger.in_state_dir(tmp_path, clock=clock):
        assert stored(tmp_path / LEDGER_FILE) == []


async def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / LEDGER_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(BudgetStoreError, match="budget ledger"):
        await BudgetLedger.in_state_dir(tmp_path).open()


async def test_an_unopened_ledger_refuses_to_count(tmp_path: Path) -> None:
    ledger = BudgetLedger.in_state_dir(tmp_path)
    with pytest.raises(RuntimeError, match="not open"):
        ledger.usage("alice", 0.0)
    await ledger.aclose()  # closing what never opened is harmless
