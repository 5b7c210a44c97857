"""The gateway side of the benchmark: a cell with the same `echo` tool as `bare_server.py`.

Configured as `[[cells]] module = "bench.echo_cell"`, it is served on the wire as `bench__echo`.
"""

from __future__ import annotations

from pydantic import BaseModel

from mcp_gateway.sdk import Cell, CellContext, tool


class EchoIn(BaseModel):
    text: str


class EchoOut(BaseModel):
    text: str


class EchoCell(Cell):
    namespace = "bench"
    version = "1.0.0"

    @tool(description="Return the text unchanged.", read_only=True)
    async def echo(self, args: EchoIn, ctx: CellContext) -> EchoOut:
        return EchoOut(text=args.text)
