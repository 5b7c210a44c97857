"""The SQLite file behind the budget ledger: one row per principal per UTC day.

Synchronous on purpose: the ledger runs every method in a worker thread, one at a time, so the
connection is shared across threads (`check_same_thread=False`) but never used concurrently.
sqlite3's errors are translated to `BudgetStoreError` here, at the boundary.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from mcp_gateway.budgets.errors import BudgetStoreError

FORMAT_VERSION = 1
"""The ledger's format (SQLite `user_version`)."""
RETAINED_DAYS = 31
"""Older days are deleted at open: the ledger only needs today; a month helps an operator."""

Row = tuple[str, str, int, int]
"""(UTC day as YYYY-MM-DD, principal, cost units, result bytes)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    day TEXT NOT NULL,
    principal TEXT NOT NULL,
    cost_units INTEGER NOT NULL,
    result_bytes INTEGER NOT NULL,
    PRIMARY KEY (day, principal)
) WITHOUT ROWID
"""
# Rows carry absolute totals: the ledger's memory is authoritative for today, so a write that
# is retried or overtaken can never count a call twice.
_UPSERT = """
INSERT INTO usage (day, principal, cost_units, result_bytes) VALUES (?, ?, ?, ?)
ON CONFLICT (day, principal) DO UPDATE SET cost_units = excluded.cost_units, result_bytes = excluded.result_bytes
"""


class UsageStore:
    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path, today: str) -> UsageStore:
        """Open (creating it 0600, in WAL mode) and drop days older than RETAINED_DAYS before `today`."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Create the file ourselves so it is never readable by others, not even for a moment;
            # SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            os.chmod(path, 0o600)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise BudgetStoreError(f"cannot open the budget ledger {path}: {exc}") from exc
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a crash of the gateway and costs no fsync per commit;
            # a power cut may lose the last commits, which for budgets is an acceptable trade.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            fresh = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
            db.execute(_SCHEMA)
            if fresh:  # the format version `mcp-gateway migrate` reads
                db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
            db.execute("DELETE FROM usage WHERE day < date(?, ?)", (today, f"-{RETAINED_DAYS} days"))
        except sqlite3.Error as exc:
            db.close()
            raise BudgetStoreError(f"cannot use the budget ledger {path}: {exc}") from exc
        return cls(db, path)

    def load_day(self, day: str) -> dict[str, tuple[int, int]]:
        """Each principal's (cost units, result bytes) on `day`."""
        try:
            rows = self._db.execute(
                "SELECT principal, cost_units, result_bytes FROM usage WHERE day = ?", (day,)
            ).fetchall()
        except sqlite3.Error as exc:
            raise BudgetStoreError(f"cannot read the budget ledger {self.path}: {exc}") from exc
        return {principal: (cost, size) for principal, cost, size in rows}

    def write(self, rows: Sequence[Row]) -> None:
        """Store the totals in `rows`, all in one transaction."""
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(_UPSERT, rows)
        except sqlite3.Error as exc:
            raise BudgetStoreError(f"cannot write the budget ledger {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()
