"""Traces follow the MCP semantic conventions and continue the caller's trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mcp_gateway.config import load_config
from mcp_gateway.metrics import OtelMetrics
from mcp_gateway.testing import gateway_client
from tests.support import write_config, write_policy
from tests.telemetry_support import points

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


@pytest.mark.req("R-030")
async def test_the_call_span_carries_the_calls_summary(
    tmp_path: Path, state_dir: Path, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    policy = write_policy(tmp_path / "policy", "p, role:local, *, notes.delete, call, deny")
    config = load_config(write_config(tmp_path / "g.toml", state_dir, f'\n[authz]\npolicy_dir = "{policy}"\n'), {})
    async with gateway_client(config, tracer_provider=provider) as (_, client):
        mailed = await client.call_tool("notes__put", {"key": "m", "text": "write to dana.smith@example.org"})
        assert not mailed.is_error
        with pytest.raises(MCPError):
            await client.call_tool("notes__delete", {"key": "m"})
    calls = [span for span in exporter.get_finished_spans() if span.kind == SpanKind.SERVER and "notes." in span.name]
    put, deleted = (dict(span.attributes or {}) for span in calls)
    assert put["mcp_gateway.decision"] == "allow" and put["mcp_gateway.outcome"] == "ok"
    assert put["mcp_gateway.rule"] == "p, role:local, *, *, call, allow"
    assert put["mcp_gateway.dlp.ingress.findings"] == 1 and put["mcp_gateway.dlp.egress.findings"] == 0
    assert put["mcp_gateway.audit.seq"] == 1
    assert isinstance(put["mcp_gateway.budget.remaining.calls_per_minute"], int)
    assert deleted["mcp_gateway.decision"] == "deny" and deleted["mcp_gateway.refused_by"] == "authz"
    assert deleted["mcp_gateway.rule"] == "p, role:local, *, notes.delete, call, deny"
    assert deleted["error.type"] == "forbidden" and deleted["mcp_gateway.audit.seq"] == 2
    # The refusing stage's span says so with a code; no span keeps an exception's message or stack.
    authz = [span for span in exporter.get_finished_spans() if span.name == "stage authz"][-1]
    assert authz.status.status_code == StatusCode.ERROR and authz.status.description == "forbidden"
    assert not [event for span in exporter.get_finished_spans() for event in span.events if event.name == "exception"]


async def test_metrics_count_calls_refusals_findings_and_audit_writes(
    config_file: Path, clean_env: dict[str, str]
) -> None:
    reader = InMemoryMetricReader()
    metrics = OtelMetrics(MeterProvider(metric_readers=[reader]))
    async with gateway_client(load_config(config_file, clean_env), metrics=metrics) as (_, client):
        await client.list_tools()
        assert not (await client.call_tool("notes__put", {"key": "m", "text": "mail dana.smith@example.org"})).is_error
        assert (await client.call_tool("fs__read_file", {"path": ["not", "a", "string"]})).is_error
        with pytest.raises(MCPError):
            await client.call_tool("fs__nope", {})
    found = points(reader)
    operations = {
        ((p.attributes or {})["mcp.method.name"], (p.attributes or {}).get("error.type")): p.count
        for p in found["mcp.server.operation.duration"]
    }
    assert operations[("tools/list", None)] == 1
    assert operations[("tools/call", None)] == 1
    assert operations[("tools/call", "invalid_arguments")] == 1
    assert operations[("tools/call", "-32602")] == 1  # the unknown tool, measured without its name
    tools = {(p.attributes or {}).get("gen_ai.tool.name") for p in found["mcp.server.operation.duration"]}
    assert tools == {None, "notes.put", "fs.read_file"}
    calls = {
        ((p.attributes or {})["gen_ai.tool.name"], (p.attributes or {})["mcp_gateway.outcome"]): p.value
        for p in found["mcp_gateway.calls"]
    }
    assert calls == {("notes.put", "ok"): 1, ("fs.read_file", "refused"): 1}
    (refusal,) = found["mcp_gateway.refusals"]
    assert dict(refusal.attributes or {})["mcp_gateway.stage"] == "validate"
    entities = {(p.attributes or {})["mcp_gateway.dlp.entity"] for p in found["mcp_gateway.dlp.findings"]}
    assert "EMAIL_ADDRESS" in entities
    (audit,) = found["mcp_gateway.audit.write.duration"]
    assert audit.count == 2 and 0 < audit.sum < 5


async def test_jail_runs_get_a_span_and_are_counted(
    tmp_path: Path, state_dir: Path, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    reader = InMemoryMetricReader()
    metrics = OtelMetrics(MeterProvider(metric_readers=[reader]))
    cells = '\n[[cells]]\nmodule = "tests.relay_cell:RiskyCell"\n'
    config = load_config(write_config(tmp_path / "g.toml", state_dir, cells), {})
    async with gateway_client(config, tracer_provider=provider, metrics=metrics) as (_, client):
        for _ in range(2):
            assert not (await client.call_tool("risky__run", {"code": "1 + 1"})).is_error
    finished = exporter.get_finished_spans()
    jail = [span for span in finished if span.name == "jail risky.run"]
    dispatch = {span.context.span_id for span in finished if span.name == "stage dispatch" and span.context}
    assert len(jail) == 2 and all(span.parent is not None and span.parent.span_id in dispatch for span in jail)
    found = points(reader)
    assert [p.value for p in found["mcp_gateway.jail.runs"]] == [2]
    assert "mcp_gateway.jail.failures" not in found
