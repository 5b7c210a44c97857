"""A cell for the distribution tests, hosted by `mcp-gateway worker` processes: it reports where
and as whom it runs, leaves side effects that can be counted, and calls back into the gateway."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
from opentelemetry import trace
from pydantic import BaseModel

from mcp_gateway.sdk import Cell, CellContext, tool


class NoArgs(BaseModel):
    pass


class Where(BaseModel):
    pid: int
    principal: str
    roles: list[str]
    transport: str
    trace_id: str


class MarkIn(BaseModel):
    path: str
    hold: float = 0.0
    """Seconds to wait after the side effect, the first time only (so a rerun answers at once)."""


class MarkOut(BaseModel):
    lines: int


class CallIn(BaseModel):
    tool: str
    arguments: dict[str, Any] = {}


class CallOut(BaseModel):
    is_error: bool
    text: str


def _mark(args: MarkIn) -> int:
    path = Path(args.path)
    with path.open("a") as handle:
        handle.write(f"{os.getpid()}\n")
    return len(path.read_text().splitlines())


class ProbeCell(Cell):
    namespace = "probe"
    version = "0.1.0"

    @tool(description="Say which process runs this call, for whom, and in which trace.", read_only=True)
    async def whoami(self, args: NoArgs, ctx: CellContext) -> Where:
        span = trace.get_current_span().get_span_context()
        principal = ctx.principal
        return Where(pid=os.getpid(), principal=principal.name, roles=list(principal.roles),
                     transport=ctx.transport, trace_id=f"{span.trace_id:032x}")  # fmt: skip

    @tool(description="Append a line to a file (at most once), then maybe wait.")
    async def mark(self, args: MarkIn, ctx: CellContext) -> MarkOut:
        lines = _mark(args)
        if lines == 1 and args.hold:
            await anyio.sleep(args.hold)
        return MarkOut(lines=lines)

    @tool(description="Append a line to a file (safe to repeat), then maybe wait.", idempotent=True)
    async def mark_again(self, args: MarkIn, ctx: CellContext) -> MarkOut:
        lines = _mark(args)
        if lines == 1 and args.hold:
            await anyio.sleep(args.hold)
        return MarkOut(lines=lines)

    @tool(description="Call another tool through the gateway.")
    async def call(self, args: CallIn, ctx: CellContext) -> CallOut:
        outcome = await ctx.call_tool(args.tool, args.arguments)
        return CallOut(is_error=outcome.is_error, text=outcome.text)

    @tool(description="Ask for a secret (a worker's cells get none).", read_only=True)
    async def secret(self, args: NoArgs, ctx: CellContext) -> CallOut:
        return CallOut(is_error=False, text=await ctx.secret("ANY"))
