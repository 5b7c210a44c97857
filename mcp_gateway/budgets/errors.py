"""Budget errors. Both belong in the tree of `mcp_gateway.errors`; they live here until that
module adopts them:

    Refusal
    └── BudgetExceeded       a budget of the caller is spent; says which and when it resets
    GatewayError
    └── BudgetStoreError     the budget ledger's SQLite file cannot be opened, read or written
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from mcp_gateway.errors import GatewayError, Refusal


def iso_utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class BudgetExceeded(Refusal):
    """A call refused because one of the caller's budgets is spent.

    `kind` is "tool": the model reads the message as an `isError` result and can decide to wait
    or to do something cheaper, which a JSON-RPC error would hide from it.
    """

    code = "budget_exceeded"
    kind = "tool"

    def __init__(self, budget: str, detail: str, *, now: float, resets_at: float | None) -> None:
        self.budget = budget
        """The budget's label, e.g. "cost units per day"."""
        self.resets_at = resets_at
        """POSIX time when the budget frees up; None when that depends on a running call."""
        if resets_at is None:
            when = "it frees up when one of your running calls finishes"
        else:
            wait = max(1, math.ceil(resets_at - now))
            when = f"it resets at {iso_utc(resets_at)} (in {wait} s)"
        super().__init__(f"budget exceeded: {budget} ({detail}); {when}", stage="budget")


class BudgetStoreError(GatewayError):
    """The budget ledger's database cannot be used (unreadable, corrupt, or the disk is full)."""
