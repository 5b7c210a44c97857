"""The bus protocol and its envelopes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from anyio import TASK_STATUS_IGNORED
from anyio.abc import TaskStatus

from mcp_gateway.pipeline import ToolResult
from mcp_gateway.sdk import Principal


@dataclass(frozen=True, slots=True)
class BusRequest:
    """A call on its way to a cell host: everything a host in another process would need."""

    tool: str
    """Canonical tool name."""
    arguments: Mapping[str, Any]
    principal: Principal
    transport: str
    request_id: str | None = None
    depth: int = 0
    trace_context: Mapping[str, str] = field(default_factory=dict)
    """W3C trace context (`traceparent`, `tracestate`) so a host continues the call's trace."""


@dataclass(frozen=True, slots=True)
class BusReply:
    result: ToolResult


BusHandler = Callable[[BusRequest], Awaitable[BusReply]]


class Bus(Protocol):
    async def request(self, address: str, message: BusRequest, timeout: float) -> BusReply:
        """Deliver `message` to the handler serving `address` and wait for its reply.

        Raises `ToolUnavailable` when nothing serves the address, `ToolTimeout` past `timeout`.
        """
        ...

    async def serve(
        self, address: str, handler: BusHandler, *, task_status: TaskStatus[None] = TASK_STATUS_IGNORED
    ) -> None:
        """Serve `address` with `handler` until cancelled; requests are handled concurrently.
        Use with `TaskGroup.start`: it reports started once requests can be delivered."""
        ...
