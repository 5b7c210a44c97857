from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcp_gateway.budgets.ledger import BudgetLedger
from tests.budgets.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def ledger(tmp_path: Path, clock: FakeClock) -> AsyncIterator[BudgetLedger]:
    async with BudgetLedger.in_state_dir(tmp_path, clock=clock) as opened:
        yield opened
