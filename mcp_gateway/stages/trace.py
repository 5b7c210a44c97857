"""The trace stage: one SERVER span per tools/call, following the MCP semantic conventions.

It continues the caller's trace when `params._meta` carries a `traceparent`, and records how
the call ended: `error.type` is the refusal's code, `tool_error` for an `isError` result, or
the exception's type.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from mcp_gateway import telemetry as tm
from mcp_gateway.errors import Refusal
from mcp_gateway.pipeline import Next, ToolCall, ToolResult


class TraceStage:
    name = "trace"

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        attributes: dict[str, str] = {
            tm.MCP_METHOD_NAME: "tools/call",
            tm.GEN_AI_TOOL_NAME: call.tool.canonical,
            tm.GEN_AI_OPERATION_NAME: "execute_tool",
            tm.NETWORK_TRANSPORT: tm.NETWORK_TRANSPORT_OF.get(call.transport, call.transport),
        }
        if call.request_id is not None:
            attributes[tm.JSONRPC_REQUEST_ID] = call.request_id
        if call.protocol_version:
            attributes[tm.MCP_PROTOCOL_VERSION] = call.protocol_version
        if call.session_id:
            attributes[tm.MCP_SESSION_ID] = call.session_id
        with self._tracer.start_as_current_span(
            f"tools/call {call.tool.canonical}",
            context=tm.extract_context(call.meta),
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                result = await call_next(call)
            except Refusal as refusal:
                span.set_attribute(tm.ERROR_TYPE, refusal.code)
                span.set_status(StatusCode.ERROR, refusal.message)
                raise
            except Exception as exc:
                span.set_attribute(tm.ERROR_TYPE, type(exc).__qualname__)
                span.set_status(StatusCode.ERROR)
                raise
            if result.is_error:
                span.set_attribute(tm.ERROR_TYPE, tm.TOOL_ERROR)
                span.set_status(StatusCode.ERROR)
            return result
