"""What the budget stage adds to a call: `uv run python -m bench.bench_budget`.

Times the same small call through `compose([], endpoint)` and through
`compose([BudgetStage(...)], endpoint)`, with every budget limited (so every check runs) and
the batching flusher running, and prints the p50/p99 of each and the difference of the p50s.
Not a test: a figure to compare, which belongs to bench/ once the stage is wired in.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

from mcp_gateway.budgets.config import BudgetConfig, Limits
from mcp_gateway.budgets.ledger import BudgetLedger
from mcp_gateway.pipeline import Next, compose
from mcp_gateway.stages.budget import BudgetStage
from tests.budgets.support import Endpoint, call_of, entry

WARMUP, CALLS = 2_000, 50_000


class SteppingClock:
    """Real-time-like, but 60 ms a reading (the stage reads it twice a call): 500 calls a minute."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 0.06
        return self.now


async def timings(pipeline: Next) -> list[int]:
    tool = entry(cost=1)
    samples: list[int] = []
    for index in range(WARMUP + CALLS):
        call = call_of(tool, text="hello")
        started = time.perf_counter_ns()
        await pipeline(call)
        if index >= WARMUP:
            samples.append(time.perf_counter_ns() - started)
    return samples


def report(label: str, samples: list[int]) -> float:
    cuts = statistics.quantiles(samples, n=100)
    p50, p99 = statistics.median(samples) / 1000, cuts[98] / 1000
    print(f"{label:>12}: p50 {p50:6.2f} µs   p99 {p99:6.2f} µs")
    return p50


async def main() -> None:
    limits = Limits(calls_per_minute=600, concurrent_calls=16, cost_units_per_day=10**12, result_bytes_per_day=10**15)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = BudgetLedger.in_state_dir(Path(tmp), clock=SteppingClock())
        async with ledger, anyio.create_task_group() as tg:
            tg.start_soon(ledger.run_flusher)
            bare = compose([], Endpoint())
            stage = BudgetStage(ledger, BudgetConfig(default=limits), lookup=lambda name: None)
            budgeted = compose([stage], Endpoint())
            base = report("bare", await timings(bare))
            with_stage = report("with budget", await timings(budgeted))
            tg.cancel_scope.cancel()
    print(f"{'overhead':>12}: p50 {with_stage - base:6.2f} µs per call (python {sys.version.split()[0]})")


if __name__ == "__main__":
    anyio.run(main)
