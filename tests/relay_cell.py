"""A cell used by tests: it calls other tools through the gateway, as any cell may."""

from __future__ import annotations

import os
from typing import Any

import anyio
from pydantic import BaseModel

from mcp_gateway.sdk import Cell, CellContext, tool


class RelayIn(BaseModel):
    tool: str
    arguments: dict[str, Any] = {}


class NoArgs(BaseModel):
    pass


class RelayOut(BaseModel):
    is_error: bool
    text: str
    structured: dict[str, Any] | None


class RelayCell(Cell):
    namespace = "relay"
    version = "0.1.0"

    @tool(description="Call another tool by canonical name and return its outcome.")
    async def call(self, args: RelayIn, ctx: CellContext) -> RelayOut:
        outcome = await ctx.call_tool(args.tool, args.arguments)
        structured = dict(outcome.structured) if outcome.structured is not None else None
        return RelayOut(is_error=outcome.is_error, text=outcome.text, structured=structured)

    @tool(description="Call relay.loop again, forever: only the gateway's depth limit ends it.")
    async def loop(self, args: NoArgs, ctx: CellContext) -> RelayOut:
        outcome = await ctx.call_tool("relay.loop", {})
        if outcome.is_error or outcome.structured is None:
            return RelayOut(is_error=True, text=outcome.text, structured=None)
        return RelayOut.model_validate(outcome.structured)

    @tool(description="Never answer: only the gateway's deadline ends the call.")
    async def hang(self, args: NoArgs, ctx: CellContext) -> NoArgs:
        await anyio.Event().wait()
        return NoArgs()


class RiskyIn(BaseModel):
    code: str


class RiskyCell(Cell):
    namespace = "risky"
    version = "0.1.0"

    @tool(description="Pretend to run code.", risk="high")
    async def run(self, args: RiskyIn, ctx: CellContext) -> RiskyIn:
        return args


class WhereOut(BaseModel):
    pid: int
    cwd: str
    can_read_state: bool


class WhereIn(BaseModel):
    state_file: str


class WhereCell(Cell):
    """A high-risk tool that reports where it runs: the jail, never the gateway's process."""

    namespace = "where"
    version = "0.1.0"

    @tool(description="Say which process runs this tool and whether it can read a given file.", risk="high")
    async def am_i(self, args: WhereIn, ctx: CellContext) -> WhereOut:
        try:
            with open(args.state_file) as handle:
                handle.read()
            readable = True
        except OSError:
            readable = False
        outcome = await ctx.call_tool("gateway.version", {})
        assert outcome.is_error  # a jailed tool has no way back to the gateway
        return WhereOut(pid=os.getpid(), cwd=os.getcwd(), can_read_state=readable)
