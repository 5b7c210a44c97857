"""The way back: a cell hosted by a worker calls other tools through a gateway's pipeline.

The worker sends the call to the reserved address `_gateway` (no cell namespace can start with
`_`), served by every gateway on the broker; the gateway runs it through its whole pipeline
under the calling cell's own principal, exactly as for an in-process cell. Only cell
principals may come this way: a worker cannot call as a user. Secrets are never released to
a worker's cells (their values would cross the broker), and a worker's cells see no tool
list (`visible_tools` is empty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import mcp.types as t

from mcp_gateway import __version__
from mcp_gateway.bus.base import Bus, BusHandler, BusReply, BusRequest
from mcp_gateway.errors import Refusal
from mcp_gateway.pipeline import ToolResult
from mcp_gateway.sdk import CallOutcome, GatewayView, Principal, ToolError, ToolInfo
from mcp_gateway.telemetry import current_trace_headers

CALLBACK_ADDRESS = "_gateway"
CELL_ROLE = "cell"


def is_cell_principal(principal: Principal) -> bool:
    return principal.name.startswith("cell:") and principal.roles == (CELL_ROLE,)


def callback_handler(gateway: GatewayView) -> BusHandler:
    """The gateway's side: run a worker cell's call through the pipeline."""

    async def handle(request: BusRequest) -> BusReply:
        if not is_cell_principal(request.principal):
            return BusReply(ToolResult.error("only cells may call back into the gateway"))
        outcome = await gateway.call_tool(request.principal, request.tool, request.arguments, depth=request.depth)
        structured = dict(outcome.structured) if outcome.structured is not None else None
        content: list[t.ContentBlock] = [t.TextContent(type="text", text=outcome.text)]
        return BusReply(ToolResult(content=content, structured=structured, is_error=outcome.is_error))

    return handle


class BusGatewayView:
    """`GatewayView` for cells hosted by a worker: calls go back over the bus to a gateway."""

    def __init__(self, bus: Bus, timeout: float) -> None:
        self._bus, self._timeout = bus, timeout

    @property
    def version(self) -> str:
        return __version__

    def visible_tools(self, principal: Principal) -> Sequence[ToolInfo]:
        return []

    async def call_tool(
        self, principal: Principal, tool: str, arguments: Mapping[str, Any], *, depth: int
    ) -> CallOutcome:
        request = BusRequest(
            tool=tool,
            arguments=dict(arguments),
            principal=principal,
            transport="cell",
            depth=depth,
            trace_context=current_trace_headers(),
        )
        try:
            reply = await self._bus.request(CALLBACK_ADDRESS, request, self._timeout)
        except Refusal as refusal:
            return CallOutcome(True, refusal.message, None)
        result = reply.result
        return CallOutcome(result.is_error, result.text(), result.structured)

    async def read_secret(self, cell: Principal, name: str, *, caller: Principal) -> str:
        raise ToolError(f"secret {name!r} is not available to {cell.name}: cells hosted by workers get no secrets")
