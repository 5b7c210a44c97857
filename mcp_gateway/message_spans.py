"""A SERVER span for each MCP message the pipeline does not trace itself.

Calls of known tools are traced by the trace stage (canonical name, a child span per stage).
Everything else — tools/list, initialize, ping, and calls of unknown tools, so that probing for
tools shows in the traces — gets a span here, from the gateway's own tracer provider rather
than the SDK's global one, so one configuration governs every span the gateway emits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.shared.exceptions import MCPError
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import ValidationError

from mcp_gateway import telemetry as tm

INVALID_PARAMS = "-32602"


class MessageSpans:
    def __init__(self, tracer: trace.Tracer, traced_by_pipeline: Callable[[str], bool]) -> None:
        self._tracer = tracer
        self._traced_by_pipeline = traced_by_pipeline

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        raw = ctx.params.get("name") if ctx.params else None
        name = raw[:128] if isinstance(raw, str) else None
        if ctx.method == "tools/call" and name is not None and self._traced_by_pipeline(name):
            return await call_next(ctx)
        attributes: dict[str, str] = {tm.MCP_METHOD_NAME: ctx.method, tm.MCP_PROTOCOL_VERSION: ctx.protocol_version}
        if ctx.request_id is not None:
            attributes[tm.JSONRPC_REQUEST_ID] = str(ctx.request_id)
        if ctx.method == "tools/call" and name is not None:
            attributes[tm.GEN_AI_TOOL_NAME] = name
            attributes[tm.GEN_AI_OPERATION_NAME] = "execute_tool"
        span_name = f"{ctx.method} {name}" if ctx.method == "tools/call" and name else ctx.method
        with self._tracer.start_as_current_span(
            span_name,
            kind=SpanKind.SERVER,
            attributes=attributes,
            context=tm.extract_context(dict(ctx.meta or {})),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                return await call_next(ctx)
            except MCPError as exc:
                span.set_attribute(tm.ERROR_TYPE, str(exc.error.code))
                span.set_status(StatusCode.ERROR, exc.error.message)
                raise
            except ValidationError:
                span.set_attribute(tm.ERROR_TYPE, INVALID_PARAMS)
                span.set_status(StatusCode.ERROR)
                raise
