"""The budget stage in a pipeline: each budget runs out with a clear refusal, then resets."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from mcp_gateway.authz.reload import PolicyStore
from mcp_gateway.budgets.config import BudgetConfig, Limits
from mcp_gateway.budgets.errors import BudgetExceeded
from mcp_gateway.budgets.ledger import BudgetLedger
from mcp_gateway.errors import Forbidden, InvalidArguments, ToolTimeout
from mcp_gateway.pipeline import compose
from mcp_gateway.sdk import Principal
from mcp_gateway.stages.authz import AuthzStage
from mcp_gateway.stages.budget import BudgetStage, result_bytes
from tests.authz.helpers import write_policy
from tests.budgets.support import Endpoint, FakeClock, call_of, chain, entry

pytestmark = pytest.mark.anyio

UNLIMITED = Limits(calls_per_minute=None, concurrent_calls=None, cost_units_per_day=None, result_bytes_per_day=None)


def only(**limits: int | None) -> BudgetConfig:
    """Everything unlimited but the budgets given."""
    return BudgetConfig(default=UNLIMITED.model_copy(update=limits))


@pytest.mark.req("R-012")
async def test_calls_per_minute_run_out_and_slide_back(ledger: BudgetLedger, clock: FakeClock) -> None:
    pipeline = chain(ledger, only(calls_per_minute=2), Endpoint())
    await pipeline(call_of(entry()))
    clock.advance(20)
    await pipeline(call_of(entry()))
    clock.advance(10)
    with pytest.raises(BudgetExceeded) as refused:
        await pipeline(call_of(entry()))
    assert refused.value.budget == "calls per minute"
    assert refused.value.code == "budget_exceeded" and refused.value.kind == "tool"
    # The oldest call of the window (at noon) leaves it a minute later, 30 s from now.
    assert refused.value.message == (
        "budget exceeded: calls per minute (2 calls in the last 60 s); it resets at 2026-03-14T12:01:00Z (in 30 s)"
    )
    clock.advance(30)
    await pipeline(call_of(entry()))
    # Another principal has a window of its own.
    await pipeline(call_of(entry(), "bob"))


async def test_cost_units_run_out_until_utc_midnight(ledger: BudgetLedger, clock: FakeClock) -> None:
    pipeline = chain(ledger, only(cost_units_per_day=10), Endpoint())
    await pipeline(call_of(entry(cost=6)))
    await pipeline(call_of(entry(cost=4)))
    with pytest.raises(BudgetExceeded) as refused:
        await pipeline(call_of(entry(cost=1)))
    assert refused.value.message == (
        "budget exceeded: cost units per day (10 of 10 used today, t.echo costs 1); "
        "it resets at 2026-03-15T00:00:00Z (in 43200 s)"
    )
    assert refused.value.resets_at == clock.now + 12 * 3600
    clock.advance(12 * 3600 - 1)
    with pytest.raises(BudgetExceeded):
        await pipeline(call_of(entry(cost=1)))
    clock.advance(1)
    await pipeline(call_of(entry(cost=10)))


async def test_a_tool_dearer_than_what_is_left_is_refused_even_if_others_fit(ledger: BudgetLedger) -> None:
    pipeline = chain(ledger, only(cost_units_per_day=10), Endpoint())
    await pipeline(call_of(entry(cost=8)))
    with pytest.raises(BudgetExceeded, match="8 of 10 used today, t.echo costs 3"):
        await pipeline(call_of(entry(cost=3)))
    await pipeline(call_of(entry(cost=2)))


async def test_result_bytes_run_out_after_the_result_that_crosses_the_line(
    ledger: BudgetLedger, clock: FakeClock
) -> None:
    endpoint = Endpoint()
    pipeline = chain(ledger, only(result_bytes_per_day=100), endpoint)
    first = await pipeline(call_of(entry(), text="x" * 60))
    size = result_bytes(first)
    assert size == len('[{"type":"text","text":""}]') + 60
    # Nobody knows a result's size in advance: the call that crosses the limit completes.
    await pipeline(call_of(entry(), text="x" * 60))
    with pytest.raises(BudgetExceeded) as refused:
        await pipeline(call_of(entry(), text="x"))
    assert refused.value.budget == "result bytes per day"
    assert f"({2 * size} of 100 bytes returned today)" in refused.value.message
    assert "resets at 2026-03-15T00:00:00Z (in 43200 s)" in refused.value.message
    assert len(endpoint.called) == 2
    clock.advance(12 * 3600)
    await pipeline(call_of(entry(), text="x"))


async def test_concurrent_calls_are_capped_while_others_run(ledger: BudgetLedger) -> None:
    gate = anyio.Event()
    endpoint = Endpoint(gate=gate)
    pipeline = chain(ledger, only(concurrent_calls=2), endpoint)

    async def call_as(principal: str) -> None:
        await pipeline(call_of(entry(), principal))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(call_as, "alice")
            await endpoint.wait_for_calls(2)
            with pytest.raises(BudgetExceeded) as refused:
                await pipeline(call_of(entry()))
            tg.start_soon(call_as, "bob")  # bob's calls are his own
            await endpoint.wait_for_calls(3)
            gate.set()
    assert refused.value.message == (
        "budget exceeded: concurrent calls (2 already running); it frees up when one of your running calls finishes"
    )
    assert refused.value.resets_at is None
    assert ledger.running("alice") == 0
    await pipeline(call_of(entry()))


async def test_a_call_refused_downstream_gives_its_cost_back(ledger: BudgetLedger, clock: FakeClock) -> None:
    config = only(cost_units_per_day=10)
    await chain(ledger, config, Endpoint())(call_of(entry(cost=4)))
    with pytest.raises(InvalidArguments):
        await chain(ledger, config, Endpoint(refusal=InvalidArguments("no")))(call_of(entry(cost=5)))
    assert ledger.usage("alice", clock.now).cost_units == 4
    # A call that timed out did run: it stays charged.
    with pytest.raises(ToolTimeout):
        await chain(ledger, config, Endpoint(refusal=ToolTimeout("late")))(call_of(entry(cost=5)))
    assert ledger.usage("alice", clock.now).cost_units == 9
    assert ledger.running("alice") == 0


async def test_budget_state_is_noted_for_the_audit_record(ledger: BudgetLedger) -> None:
    config = BudgetConfig(
        default=Limits(calls_per_minute=5, concurrent_calls=3, cost_units_per_day=100, result_bytes_per_day=None)
    )
    pipeline = chain(ledger, config, Endpoint())
    call = call_of(entry(cost=7), text="hi")
    result = await pipeline(call)
    assert call.notes["budget"] == {
        "cost": 7,
        "result_bytes": result_bytes(result),
        "remaining": {
            "calls_per_minute": 4,
            "concurrent_calls": 2,  # counted while the call ran
            "cost_units_per_day": 93,
            "result_bytes_per_day": None,
        },
    }
    refused = call_of(entry(cost=94))
    with pytest.raises(BudgetExceeded):
        await pipeline(refused)
    assert refused.notes["budget"]["exceeded"] == "cost units per day"
    assert refused.notes["budget"]["remaining"]["cost_units_per_day"] == 93


async def test_the_cheaper_fallback_takes_over_when_the_cost_is_spent(ledger: BudgetLedger) -> None:
    small = entry("llm.small", cost=1)
    medium = entry("llm.medium", cost=5, fallback="llm.small")
    large = entry("llm.large", cost=20, fallback="llm.medium")
    endpoint = Endpoint()
    pipeline = chain(ledger, only(cost_units_per_day=27), endpoint, [small, medium, large])
    await pipeline(call_of(large))
    call = call_of(large, text="same arguments")
    result = await pipeline(call)
    assert result.text() == "same arguments"
    assert call.tool is medium
    assert call.notes["budget"]["fallback_from"] == "llm.large"
    assert call.notes["budget"]["fallback_to"] == "llm.medium"
    assert call.notes["budget"]["remaining"]["cost_units_per_day"] == 2
    # Two units left: the whole chain is followed down to the tool that fits.
    call = call_of(large)
    await pipeline(call)
    assert call.tool is small
    assert endpoint.called == ["llm.large", "llm.medium", "llm.small"]
    await pipeline(call_of(large))
    with pytest.raises(BudgetExceeded, match=r"27 of 27 used today, llm.large costs 20"):
        await pipeline(call_of(large))
    assert len(endpoint.called) == 4


async def test_roles_and_cell_principals_get_their_own_limits(ledger: BudgetLedger) -> None:
    config = BudgetConfig(
        default=Limits(calls_per_minute=1),
        roles={"reader": Limits(calls_per_minute=2), "batch": Limits(calls_per_minute=3), "cell": Limits()},
        principals={"cell:relay": Limits(calls_per_minute=4)},
    )
    pipeline = chain(ledger, config, Endpoint())
    for principal, allowed in (
        (Principal("nobody"), 1),
        (Principal("rita", roles=("reader",)), 2),
        (Principal("bea", roles=("reader", "batch")), 3),
        (Principal("cell:notes", roles=("cell",)), 1),  # the role sets nothing: the default
        (Principal("cell:relay", roles=("cell",)), 4),  # cells are principals like any other
    ):
        for _ in range(allowed):
            await pipeline(call_of(entry(), principal))
        with pytest.raises(BudgetExceeded, match="calls per minute"):
            await pipeline(call_of(entry(), principal))


async def test_disabled_budgets_let_everything_through(ledger: BudgetLedger) -> None:
    config = BudgetConfig(enabled=False, default=Limits(calls_per_minute=0, cost_units_per_day=0))
    call = call_of(entry(cost=5))
    await chain(ledger, config, Endpoint())(call)
    assert "budget" not in call.notes


async def test_zero_refuses_every_call(ledger: BudgetLedger) -> None:
    pipeline = chain(ledger, BudgetConfig(principals={"mallory": Limits(calls_per_minute=0)}), Endpoint())
    with pytest.raises(BudgetExceeded, match="calls per minute"):
        await pipeline(call_of(entry(), "mallory"))


async def test_a_fallback_runs_only_for_a_caller_allowed_the_tool_it_asked_for(
    ledger: BudgetLedger, tmp_path: Path
) -> None:
    # alice may call the small model only; bob may call both.
    policy = (
        "p, alice, *, llm.small, call, allow\np, bob, *, llm.small, call, allow\np, bob, *, llm.large, call, allow\n"
    )
    store = PolicyStore(write_policy(tmp_path / "policy", policy))
    small = entry("llm.small", cost=1)
    large = entry("llm.large", cost=20, fallback="llm.small")
    endpoint = Endpoint()
    lookup = {tool.canonical: tool for tool in (small, large)}.get
    pipeline = compose([BudgetStage(ledger, only(cost_units_per_day=5), lookup=lookup), AuthzStage(store)], endpoint)
    # Too dear for the budget either way: the call is rewritten to the small model.
    allowed = call_of(large, "bob")
    await pipeline(allowed)
    assert allowed.tool is small and allowed.notes["authz"]["allowed"]
    # A cheaper fallback is no way around a refusal, and the refusal names what was asked for.
    refused = call_of(large, "alice")
    with pytest.raises(Forbidden, match=r"^Unknown tool: llm__large$"):
        await pipeline(refused)
    assert endpoint.called == ["llm.small"]
