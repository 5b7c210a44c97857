"""The MCP semantic-convention names the gateway emits, and trace-context helpers.

The incubating semconv constants are deprecated in the Python package, so the names the MCP
conventions define are our own constants here. The providers are built in telemetry_setup.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

MCP_METHOD_NAME = "mcp.method.name"
MCP_PROTOCOL_VERSION = "mcp.protocol.version"
MCP_SESSION_ID = "mcp.session.id"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
JSONRPC_REQUEST_ID = "jsonrpc.request.id"
ERROR_TYPE = "error.type"
NETWORK_TRANSPORT = "network.transport"
TOOL_ERROR = "tool_error"

# The gateway's own attributes: the summary of a call that its SERVER span carries.
DECISION = "mcp_gateway.decision"
RULE = "mcp_gateway.rule"
OUTCOME = "mcp_gateway.outcome"
REFUSED_BY = "mcp_gateway.refused_by"
AUDIT_SEQ = "mcp_gateway.audit.seq"
BUDGET_REMAINING = "mcp_gateway.budget.remaining."
"""A prefix: one attribute per budget with a limit (`...remaining.calls_per_minute`)."""
BUDGET_EXCEEDED = "mcp_gateway.budget.exceeded"


def dlp_findings_attribute(direction: str) -> str:
    """`mcp_gateway.dlp.ingress.findings` / `mcp_gateway.dlp.egress.findings`: how many."""
    return f"mcp_gateway.dlp.{direction}.findings"


TRACER_NAME = "mcp_gateway"

_propagator = TraceContextTextMapPropagator()

# The conventions' `network.transport` values: stdio is a pipe, HTTP and SSE run over TCP.
NETWORK_TRANSPORT_OF = {"stdio": "pipe", "http": "tcp", "sse": "tcp", "cell": "inproc"}


def extract_context(meta: Mapping[str, Any]) -> Context | None:
    """The caller's trace context from `params._meta` (`traceparent`/`tracestate`), if any."""
    carrier = {key: value for key in ("traceparent", "tracestate") if isinstance(value := meta.get(key), str)}
    return _propagator.extract(carrier) if carrier else None


def current_trace_headers() -> dict[str, str]:
    """The current span's context as W3C headers, to carry a trace across the bus."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def tracer_of(provider: trace.TracerProvider | None) -> trace.Tracer | None:
    return provider.get_tracer(TRACER_NAME) if provider is not None else None
