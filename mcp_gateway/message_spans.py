"""A SERVER span, and the `mcp.server.operation.duration` measurement, for each MCP message the
pipeline does not trace itself.

Calls of known tools are traced and measured by the trace stage (canonical name, a child span
per stage). Everything else — tools/list, initialize, ping, and calls of unknown tools, so that
probing for tools shows in the traces — gets a span here, from the gateway's own tracer provider
rather than the SDK's global one, so one configuration governs every span the gateway emits.
A method the MCP specification does not define is measured as `_OTHER`: callers choose method
names, and a metric label must not let them mint new series.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from mcp.server import ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.shared.exceptions import MCPError
from mcp_types import methods
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import ValidationError

from mcp_gateway import telemetry as tm
from mcp_gateway.metrics import NO_METRICS, Metrics

INVALID_PARAMS = "-32602"
OTHER_METHOD: Final = "_OTHER"
KNOWN_METHODS: Final = frozenset(methods.SPEC_CLIENT_METHODS) | frozenset(methods.SPEC_CLIENT_NOTIFICATION_METHODS)


class MessageSpans:
    def __init__(
        self, tracer: trace.Tracer | None, traced_by_pipeline: Callable[[str], bool], metrics: Metrics = NO_METRICS
    ) -> None:
        self._tracer = tracer
        self._traced_by_pipeline = traced_by_pipeline
        self._metrics = metrics

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        raw = ctx.params.get("name") if ctx.params else None
        name = raw[:128] if isinstance(raw, str) else None
        if ctx.method == "tools/call" and name is not None and self._traced_by_pipeline(name):
            return await call_next(ctx)
        started = time.perf_counter()
        error_type: str | None = None
        try:
            if self._tracer is None:
                return await call_next(ctx)
            return await self._traced(self._tracer, ctx, call_next, name)
        except MCPError as exc:
            error_type = str(exc.error.code)
            raise
        except ValidationError:
            error_type = INVALID_PARAMS
            raise
        finally:
            method = ctx.method if ctx.method in KNOWN_METHODS else OTHER_METHOD
            transport = "pipe" if ctx.request is None else "tcp"
            self._metrics.operation(method, time.perf_counter() - started, transport=transport, error_type=error_type)

    async def _traced(
        self, tracer: trace.Tracer, ctx: ServerRequestContext[Any, Any], call_next: CallNext, name: str | None
    ) -> HandlerResult:
        attributes: dict[str, str] = {tm.MCP_METHOD_NAME: ctx.method, tm.MCP_PROTOCOL_VERSION: ctx.protocol_version}
        if ctx.request_id is not None:
            attributes[tm.JSONRPC_REQUEST_ID] = str(ctx.request_id)
        if ctx.method == "tools/call" and name is not None:
            attributes[tm.GEN_AI_TOOL_NAME] = name
            attributes[tm.GEN_AI_OPERATION_NAME] = "execute_tool"
        span_name = f"{ctx.method} {name}" if ctx.method == "tools/call" and name else ctx.method
        with tracer.start_as_current_span(
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
