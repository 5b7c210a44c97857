"""OpenTelemetry set-up and the MCP semantic-convention names the gateway emits.

The incubating semconv constants are deprecated in the Python package, so the names the MCP
conventions define are our own constants here.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from mcp_gateway.config import TelemetryConfig

MCP_METHOD_NAME = "mcp.method.name"
MCP_PROTOCOL_VERSION = "mcp.protocol.version"
MCP_SESSION_ID = "mcp.session.id"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
JSONRPC_REQUEST_ID = "jsonrpc.request.id"
ERROR_TYPE = "error.type"
NETWORK_TRANSPORT = "network.transport"
TOOL_ERROR = "tool_error"

TRACER_NAME = "mcp_gateway"

_propagator = TraceContextTextMapPropagator()

# The conventions' `network.transport` values: stdio is a pipe, HTTP and SSE run over TCP.
NETWORK_TRANSPORT_OF = {"stdio": "pipe", "http": "tcp", "sse": "tcp", "cell": "inproc"}


def build_tracer_provider(config: TelemetryConfig) -> TracerProvider | None:
    """The provider for the configured exporter, or None when telemetry is off (no cost)."""
    if config.exporter == "none":
        return None
    exporter: SpanExporter
    if config.exporter == "console":
        # stderr, never stdout: on stdio, stdout is the protocol's wire.
        exporter = ConsoleSpanExporter(out=sys.stderr)
    else:
        # The OTLP exporter pulls in protobuf and requests; only a gateway that exports pays for it.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=config.otlp_endpoint) if config.otlp_endpoint else OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": config.service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


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
