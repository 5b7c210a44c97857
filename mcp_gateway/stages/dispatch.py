"""The dispatch stage ends every chain: it hands the call to the bus and waits for the reply."""

from __future__ import annotations

from mcp_gateway.bus.base import Bus, BusRequest
from mcp_gateway.pipeline import Next, ToolCall, ToolResult
from mcp_gateway.telemetry import current_trace_headers


class DispatchStage:
    name = "dispatch"

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        request = BusRequest(
            tool=call.tool.canonical,
            arguments=call.arguments,
            principal=call.principal,
            transport=call.transport,
            request_id=call.request_id,
            depth=call.depth,
            trace_context=current_trace_headers(),
        )
        reply = await self._bus.request(call.tool.address, request, call.tool.timeout)
        return reply.result
