"""The trace stage: one SERVER span per tools/call, following the MCP semantic conventions, and
the call's metrics.

It continues the caller's trace when `params._meta` carries a `traceparent`, and records how
the call ended: `error.type` is the refusal's code, `tool_error` for an `isError` result, or
the exception's type. When the call is over, the span gets the call's summary under
`mcp_gateway.*` from what the stages noted (`call.notes`): decision and rule, outcome and the
refusing stage, DLP findings per direction, the budgets' remaining room and the audit record's
seq, so that one span answers an auditor's question without its children.

The stage exists when tracing or metrics are on (without a tracer it only measures); with both
off it is not in the chain at all.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from mcp_gateway import telemetry as tm
from mcp_gateway.errors import Refusal
from mcp_gateway.metrics import NO_METRICS, Metrics
from mcp_gateway.pipeline import Next, ToolCall, ToolResult

ALLOWED_OUTCOMES = frozenset({"ok", "tool_error"})


class TraceStage:
    name = "trace"

    def __init__(self, tracer: trace.Tracer | None, metrics: Metrics = NO_METRICS) -> None:
        self._tracer = tracer
        self._metrics = metrics

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        if self._tracer is None:
            return await self._observed(call, call_next, None)
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
            return await self._observed(call, call_next, span)

    async def _observed(self, call: ToolCall, call_next: Next, span: trace.Span | None) -> ToolResult:
        started = time.perf_counter()
        try:
            result = await call_next(call)
        except Refusal as refusal:
            if span is not None:
                # The code, not the message: a message may quote what the caller sent (an
                # argument's name), and spans travel further than the reply does.
                span.set_attribute(tm.ERROR_TYPE, refusal.code)
                span.set_status(StatusCode.ERROR, refusal.code)
            self._ended(call, started, span, "refused", refusal.code, refusal.stage)
            raise
        except Exception as exc:
            error_type = type(exc).__qualname__
            if span is not None:
                span.set_attribute(tm.ERROR_TYPE, error_type)
                span.set_status(StatusCode.ERROR)
            self._ended(call, started, span, "error", error_type, "")
            raise
        if result.is_error:
            if span is not None:
                span.set_attribute(tm.ERROR_TYPE, tm.TOOL_ERROR)
                span.set_status(StatusCode.ERROR)
            self._ended(call, started, span, "tool_error", tm.TOOL_ERROR, "")
        else:
            self._ended(call, started, span, "ok", None, "")
        return result

    def _ended(
        self,
        call: ToolCall,
        started: float,
        span: trace.Span | None,
        outcome: str,
        error_type: str | None,
        refused_by: str,
    ) -> None:
        seconds = time.perf_counter() - started
        tool = call.tool_as_asked.canonical  # a budget's fallback may have replaced call.tool
        notes = call.notes
        if span is not None and span.is_recording():
            summarise(span, notes, outcome, refused_by)
        metrics = self._metrics
        metrics.call(tool, call.transport, outcome)
        if outcome == "refused":
            metrics.refusal(tool, error_type or "refused", refused_by)
        dlp = notes.get("dlp")
        if dlp:
            metrics.dlp_findings("ingress", dlp.get("ingress") or ())
            metrics.dlp_findings("egress", dlp.get("egress") or ())
        if call.transport != "cell":  # a cell's call of another tool is no MCP request
            transport = tm.NETWORK_TRANSPORT_OF.get(call.transport, call.transport)
            metrics.operation("tools/call", seconds, transport=transport, tool=tool, error_type=error_type)


def summarise(span: trace.Span, notes: Mapping[str, Any], outcome: str, refused_by: str) -> None:
    """The call's summary on its span: names, codes and counts only, never a value."""
    span.set_attribute(tm.OUTCOME, outcome)
    span.set_attribute(tm.DECISION, "allow" if outcome in ALLOWED_OUTCOMES else "deny")
    if refused_by:
        span.set_attribute(tm.REFUSED_BY, refused_by)
    rule = (notes.get("authz") or {}).get("rule")
    if rule:
        span.set_attribute(tm.RULE, "p, " + ", ".join(str(part) for part in rule))
    dlp = notes.get("dlp") or {}
    for direction in ("ingress", "egress"):
        if direction in dlp:
            span.set_attribute(tm.dlp_findings_attribute(direction), len(dlp[direction]))
    budget = notes.get("budget") or {}
    for name, room in (budget.get("remaining") or {}).items():
        if room is not None:
            span.set_attribute(tm.BUDGET_REMAINING + str(name), int(room))
    if budget.get("exceeded"):
        span.set_attribute(tm.BUDGET_EXCEEDED, str(budget["exceeded"]))
    seq = notes.get("audit_seq")
    if seq is not None:
        span.set_attribute(tm.AUDIT_SEQ, int(seq))
