"""A cell whose tool raises: the gateway must turn it into a clean error and keep serving."""

from __future__ import annotations

from pydantic import BaseModel

from mcp_gateway.sdk import Cell, CellContext, tool


class Nothing(BaseModel):
    pass


class FaultyCell(Cell):
    namespace = "faulty"
    version = "0.1.0"

    @tool(description="Always raises (for the load suite).")
    async def fail(self, args: Nothing, ctx: CellContext) -> Nothing:
        raise RuntimeError("a bug in a cell")
