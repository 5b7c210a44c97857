"""Test doubles for the budget tests: a clock the test moves, tools, and an endpoint stage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import anyio
import mcp.types as t

from mcp_gateway.budgets.config import BudgetConfig
from mcp_gateway.budgets.ledger import BudgetLedger
from mcp_gateway.errors import Refusal
from mcp_gateway.pipeline import Next, ToolCall, ToolResult, compose
from mcp_gateway.sdk import Principal
from mcp_gateway.stages.budget import BudgetStage
from mcp_gateway.tools import ToolEntry

NOON = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC).timestamp()
ARGS_SCHEMA: Mapping[str, Any] = {"type": "object", "properties": {"text": {"type": "string"}}}


class FakeClock:
    """POSIX seconds that move only when the test says so."""

    def __init__(self, start: float = NOON) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def entry(
    canonical: str = "t.echo",
    *,
    cost: int = 1,
    fallback: str | None = None,
    schema: Mapping[str, Any] = ARGS_SCHEMA,
) -> ToolEntry:
    return ToolEntry(
        canonical=canonical,
        wire=canonical.replace(".", "__"),
        description="",
        input_schema=schema,
        output_schema=None,
        risk="low",
        cost=cost,
        version="1",
        address=canonical.partition(".")[0],
        validate=dict,
        fallback=fallback,
    )


class Endpoint:
    """Ends the chain: echoes `text`, raises the refusal it was given, or waits at `gate`."""

    name = "endpoint"

    def __init__(self, *, refusal: Refusal | None = None, gate: anyio.Event | None = None) -> None:
        self.called: list[str] = []
        self.refusal = refusal
        self.gate = gate
        self._arrival = anyio.Event()

    async def wait_for_calls(self, count: int) -> None:
        while len(self.called) < count:
            self._arrival = anyio.Event()
            await self._arrival.wait()

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        self.called.append(call.tool.canonical)
        self._arrival.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.refusal is not None:
            raise self.refusal
        return ToolResult(content=[t.TextContent(type="text", text=str(call.arguments.get("text", "")))])


def chain(ledger: BudgetLedger, config: BudgetConfig, endpoint: Endpoint, tools: Iterable[ToolEntry] = ()) -> Next:
    lookup = {tool.canonical: tool for tool in tools}.get
    return compose([BudgetStage(ledger, config, lookup=lookup)], endpoint)


def call_of(tool: ToolEntry, principal: Principal | str = "alice", **arguments: Any) -> ToolCall:
    who = principal if isinstance(principal, Principal) else Principal(principal)
    return ToolCall(tool, dict(arguments), who, "stdio")
