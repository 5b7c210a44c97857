"""The one call pipeline: a stage signature and its composition.

Every stage is `async def stage(call: ToolCall, next: Next) -> ToolResult`. A stage either
passes the call on (possibly changed) and may inspect or change the result, or ends the call
by raising a typed `Refusal`. Stages are composed once, at start-up, the way Starlette builds
its middleware stack; the last link is the dispatcher that hands the call to the bus.

Order (ARCHITECTURE.md): trace -> audit -> identity -> budget -> authz -> validate -> dlp-in ->
dispatch -> dlp-out. Stages know nothing of transports: what they need of the request (the
principal, the transport's name for telemetry, the caller's `_meta`) travels in `ToolCall`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import mcp.types as t
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from mcp_gateway.errors import Refusal
from mcp_gateway.sdk import Principal
from mcp_gateway.tools import ToolEntry


@dataclass(slots=True)
class ToolCall:
    tool: ToolEntry
    arguments: dict[str, Any]
    principal: Principal
    transport: str
    """"stdio", "http", "sse", or "cell" for a cell-to-cell call."""
    request_id: str | None = None
    protocol_version: str | None = None
    session_id: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    """The caller's `params._meta` (trace context travels here)."""
    depth: int = 0
    """Cell-to-cell hops that led to this call; bounded so cells cannot recurse without end."""
    notes: dict[str, Any] = field(default_factory=dict)
    """What stages learn about the call for later stages (decisions, findings, budget state)."""
    asked: ToolEntry | None = None
    """The tool the caller named, when a stage replaced `tool` (a budget's fallback)."""

    @property
    def tool_as_asked(self) -> ToolEntry:
        return self.asked or self.tool


@dataclass(slots=True)
class ToolResult:
    content: list[t.ContentBlock]
    structured: dict[str, Any] | None = None
    is_error: bool = False

    @classmethod
    def error(cls, message: str) -> ToolResult:
        return cls(content=[t.TextContent(type="text", text=message)], is_error=True)

    def text(self) -> str:
        return "\n".join(block.text for block in self.content if isinstance(block, t.TextContent))


Next = Callable[[ToolCall], Awaitable[ToolResult]]


class Stage(Protocol):
    """One filter of the pipeline. `name` labels its child span and its refusals."""

    name: str

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult: ...


class StageSpanSource(Protocol):
    """Opens each stage's child span as the current span (stage_spans.py)."""

    def stage(self, name: str) -> AbstractContextManager[trace.Span]: ...


def _link(stage: Stage, inner: Next, spans: StageSpanSource | None) -> Next:
    if spans is None:

        async def plain(call: ToolCall) -> ToolResult:
            return await stage(call, inner)

        return plain

    span_name = f"stage {stage.name}"

    async def traced(call: ToolCall) -> ToolResult:
        # No exception events: a message or a stack of locals is no place for a span, which may
        # leave the machine. The status says which stage a call was refused in, and why (a code).
        with spans.stage(span_name) as span:
            try:
                return await stage(call, inner)
            except Refusal as refusal:
                span.set_status(StatusCode.ERROR, refusal.code)
                raise
            except Exception as exc:
                span.set_status(StatusCode.ERROR, type(exc).__qualname__)
                raise

    return traced


def compose(stages: Sequence[Stage], endpoint: Stage, spans: StageSpanSource | None = None) -> Next:
    """Build the chain once: `stages[0]` is outermost, `endpoint` ends every call.

    With a span source, every stage after the first (which opens the call's own span) gets a
    child span of its own, so a trace shows where a call spent its time or was refused.
    """

    async def unreachable(call: ToolCall) -> ToolResult:
        raise RuntimeError(f"the endpoint stage {endpoint.name!r} called next")

    chain: Next = _link(endpoint, unreachable, spans)
    for index in reversed(range(len(stages))):
        chain = _link(stages[index], chain, spans if index > 0 else None)
    return chain
