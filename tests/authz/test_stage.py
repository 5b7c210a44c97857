"""The authz stage: decisions recorded on the call and the span; a refusal looks like a missing tool."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_gateway.authz.reload import PolicyStore
from mcp_gateway.errors import Forbidden, UnknownTool
from mcp_gateway.pipeline import Next, ToolCall, ToolResult, compose
from mcp_gateway.registry import Registry
from mcp_gateway.sdk import Principal
from mcp_gateway.server import GatewayServer
from mcp_gateway.stage_spans import span_source
from mcp_gateway.stages.authz import DECISION_ATTRIBUTE, RULE_ATTRIBUTE, AuthzStage
from mcp_gateway.tools import ToolEntry
from tests.authz.helpers import write_policy

pytestmark = pytest.mark.anyio

POLICY = "p, role:reader, *, fs.read_*, call, allow\np, role:reader, *, fs.write_file, call, deny\n"
READER = Principal("rex", ("reader",))


def entry(canonical: str) -> ToolEntry:
    namespace, _, tool = canonical.partition(".")
    return ToolEntry(
        canonical=canonical,
        wire=f"{namespace}__{tool}",
        description="",
        input_schema={"type": "object"},
        output_schema=None,
        risk="low",
        cost=1,
        version="1",
        address=namespace,
        validate=dict,
    )


class Ran:
    name = "endpoint"

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        return ToolResult(content=[])


class Outer:
    """Stands for the trace stage: the first stage, which opens the call's own span."""

    name = "outer"

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        return await call_next(call)


@pytest.fixture
def store(tmp_path: Path) -> PolicyStore:
    return PolicyStore(write_policy(tmp_path, POLICY))


async def test_an_allowed_call_passes_and_records_its_rule(store: PolicyStore) -> None:
    call = ToolCall(entry("fs.read_file"), {}, READER, "stdio")
    await compose([AuthzStage(store)], Ran())(call)
    assert call.notes["authz"] == {
        "allowed": True,
        "rule": ["role:reader", "*", "fs.read_*", "call", "allow"],
        "reason": "allowed by p, role:reader, *, fs.read_*, call, allow",
    }


@pytest.mark.parametrize(
    ("transport", "quoted"), [("stdio", "fs__write_file"), ("http", "fs__write_file"), ("cell", "fs.write_file")]
)
async def test_a_refusal_reads_like_an_unknown_tool(store: PolicyStore, transport: str, quoted: str) -> None:
    call = ToolCall(entry("fs.write_file"), {}, READER, transport)
    with pytest.raises(Forbidden) as caught:
        await compose([AuthzStage(store)], Ran())(call)
    refusal = caught.value
    assert refusal.message == f"Unknown tool: {quoted}"
    assert (refusal.kind, refusal.jsonrpc_code) == (UnknownTool.kind, UnknownTool.jsonrpc_code)
    assert refusal.code == "forbidden" and refusal.stage == "authz"
    assert call.notes["authz"]["rule"] == ["role:reader", "*", "fs.write_file", "call", "deny"]


@pytest.mark.req("R-030")
async def test_the_decision_and_its_rule_go_on_the_span(store: PolicyStore) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    chain = compose([Outer(), AuthzStage(store)], Ran(), span_source(provider))
    await chain(ToolCall(entry("fs.read_file"), {}, READER, "stdio"))
    with pytest.raises(Forbidden):
        await chain(ToolCall(entry("notes.get"), {}, READER, "stdio"))
    spans = [span for span in exporter.get_finished_spans() if span.name == "stage authz"]
    assert [dict(span.attributes or {}) for span in spans] == [
        {DECISION_ATTRIBUTE: "allow", RULE_ATTRIBUTE: "p, role:reader, *, fs.read_*, call, allow"},
        {DECISION_ATTRIBUTE: "deny"},
    ]


@pytest.mark.req("R-008")
async def test_over_mcp_a_forbidden_tool_and_a_missing_one_give_the_same_error(store: PolicyStore) -> None:
    async def error_for(tools: list[ToolEntry], wire_name: str) -> tuple[int, str, object]:
        registry = Registry(tools)
        pipeline = compose([AuthzStage(store)], Ran())
        server = GatewayServer("t", registry, pipeline, lambda transport, request: READER, lambda p: registry.all())
        async with Client(server.sdk) as client:
            with pytest.raises(MCPError) as caught:
                await client.call_tool(wire_name, {})
        return caught.value.error.code, caught.value.error.message, caught.value.error.data

    forbidden = await error_for([entry("fs.read_file"), entry("fs.write_file")], "fs__write_file")
    missing = await error_for([entry("fs.read_file")], "fs__write_file")
    assert forbidden == missing
    assert forbidden[:2] == (UnknownTool.jsonrpc_code, "Unknown tool: fs__write_file")
