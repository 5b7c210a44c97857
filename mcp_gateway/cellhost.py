"""Hosts one cell on the bus: turns a `BusRequest` into a call of the cell's tool method.

The host re-validates arguments into the tool's input model: on the memory bus that repeats
the validate stage's work (a few microseconds), but a host on another machine must never
trust what arrives, so the host does it everywhere.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from typing import Protocol

import mcp.types as t
from pydantic import BaseModel, ValidationError

from mcp_gateway.bus.base import BusReply, BusRequest
from mcp_gateway.errors import CellLoadError
from mcp_gateway.pipeline import ToolResult
from mcp_gateway.sdk import Cell, CellContext, GatewayView, Principal, ToolError, ToolSpec

logger = logging.getLogger(__name__)

_Method = Callable[[BaseModel, CellContext], Awaitable[BaseModel]]


class JailedInvoker(Protocol):
    """Runs one high-risk tool call in the jail (jailed_tools.py)."""

    async def invoke(self, namespace: str, spec: ToolSpec, args: BaseModel, ctx: CellContext) -> BaseModel: ...


class CellHost:
    def __init__(self, cell: Cell, gateway: GatewayView, jail: JailedInvoker | None = None) -> None:
        self.cell = cell
        self._gateway = gateway
        self._principal = Principal(f"cell:{cell.namespace}", roles=("cell",))
        self._tools: dict[str, tuple[ToolSpec, _Method]] = {
            f"{cell.namespace}.{spec.name}": (spec, self._method(spec, jail)) for spec in cell.tool_specs
        }

    def _method(self, spec: ToolSpec, jail: JailedInvoker | None) -> _Method:
        if spec.risk != "high":
            return self.cell.bound_tool(spec)
        if jail is None:  # the registry refuses such a cell first; this is the second lock
            raise ValueError(f"{self.cell.namespace}.{spec.name} is high-risk and there is no jail")
        namespace = self.cell.namespace

        async def jailed(args: BaseModel, ctx: CellContext) -> BaseModel:
            return await jail.invoke(namespace, spec, args, ctx)

        return jailed

    @property
    def address(self) -> str:
        return self.cell.namespace

    async def handle(self, request: BusRequest) -> BusReply:
        found = self._tools.get(request.tool)
        if found is None:
            return BusReply(ToolResult.error(f"{self.address} has no tool {request.tool!r}"))
        spec, method = found
        try:
            args = spec.input_model.model_validate(request.arguments)
        except ValidationError as exc:
            return BusReply(ToolResult.error(f"invalid arguments for {request.tool}: {exc.error_count()} error(s)"))
        ctx = CellContext(
            principal=request.principal,
            transport=request.transport,
            request_id=request.request_id,
            cell_principal=self._principal,
            gateway=self._gateway,
            depth=request.depth,
        )
        try:
            output = await method(args, ctx)
        except ToolError as exc:
            return BusReply(ToolResult.error(str(exc)))
        except Exception:
            # The model sees a reference, the operator's log has the traceback; never both.
            ref = uuid.uuid4().hex[:12]
            logger.exception("tool %s failed (ref %s)", request.tool, ref)
            return BusReply(ToolResult.error(f"internal error in {request.tool} (ref {ref})"))
        structured = output.model_dump(mode="json")
        text = output.model_dump_json()
        return BusReply(ToolResult(content=[t.TextContent(type="text", text=text)], structured=structured))


async def start_cells(hosts: Iterable[CellHost], stack: AsyncExitStack) -> None:
    """Start each host's cell in its private state dir; `stack` stops them in reverse order. A
    cell that fails to start is a `CellLoadError` naming it (the gateway and workers alike)."""
    for host in hosts:
        host.cell.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(host.cell.state_dir, 0o700)
        try:
            await host.cell.start()
        except Exception as exc:
            raise CellLoadError(f"cell {host.address!r} failed to start: {exc}") from exc
        stack.push_async_callback(host.cell.stop)
