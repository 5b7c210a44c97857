"""Traces follow the MCP semantic conventions and continue the caller's trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mcp_gateway.config import load_config
from mcp_gateway.testing import gateway_client

pytestmark = pytest.mark.anyio

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _by_name(finished: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    return next(span for span in finished if span.name == name)


async def test_tool_call_span_follows_mcp_conventions(
    config_file: Path, clean_env: dict[str, str], spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    async with gateway_client(load_config(config_file, clean_env), tracer_provider=provider) as (_, client):
        result = await client.call_tool("gateway__version", {}, meta={"traceparent": TRACEPARENT})
        assert not result.is_error
    finished = exporter.get_finished_spans()
    call = _by_name(finished, "tools/call gateway.version")
    assert call.kind == SpanKind.SERVER
    attributes = dict(call.attributes or {})
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["gen_ai.tool.name"] == "gateway.version"
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["network.transport"] == "pipe"
    assert "jsonrpc.request.id" in attributes
    assert "error.type" not in attributes
    assert call.context is not None and format(call.context.trace_id, "032x") == CALLER_TRACE
    # Each stage's span is the child of the stage before it: call -> audit -> budget -> ... -> dispatch.
    parent = call
    for stage in ("audit", "budget", "authz", "validate", "dlp", "dispatch"):
        child = _by_name(finished, f"stage {stage}")
        assert child.parent is not None and parent.context is not None
        assert child.parent.span_id == parent.context.span_id, stage
        parent = child


async def test_refused_and_failed_calls_set_error_type(
    config_file: Path, clean_env: dict[str, str], spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    async with gateway_client(load_config(config_file, clean_env), tracer_provider=provider) as (_, client):
        invalid = await client.call_tool("fs__read_file", {"path": ["not", "a", "string"]})
        assert invalid.is_error
        missing = await client.call_tool("fs__read_file", {"path": "no-such-file.txt"})
        assert missing.is_error
    calls = [span for span in exporter.get_finished_spans() if span.name == "tools/call fs.read_file"]
    assert [dict(span.attributes or {})["error.type"] for span in calls] == ["invalid_arguments", "tool_error"]


async def test_calls_of_unknown_tools_are_traced_too(
    config_file: Path, clean_env: dict[str, str], spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    async with gateway_client(load_config(config_file, clean_env), tracer_provider=provider) as (_, client):
        with pytest.raises(MCPError):
            await client.call_tool("fs__nope", {}, meta={"traceparent": TRACEPARENT})
        await client.list_tools()
    finished = exporter.get_finished_spans()
    probe = _by_name(finished, "tools/call fs__nope")
    assert dict(probe.attributes or {})["error.type"] == "-32602"
    assert probe.context is not None and format(probe.context.trace_id, "032x") == CALLER_TRACE
    assert any(span.name == "tools/list" for span in finished)
    assert not any(span.name == "tools/call fs__read_file" for span in finished)
