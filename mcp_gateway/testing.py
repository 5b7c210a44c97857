"""Helpers for testing cells and the gateway the way the project tests its own.

`cell_context()` builds the `CellContext` a tool receives, backed by `LocalGatewayView`, a
real `GatewayView` over a set of cell instances (no pipeline), so a cell's tools can be
called directly in unit tests. `gateway_client()` (below) runs the whole gateway in-process
behind the real `mcp.Client`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from opentelemetry.sdk.trace import TracerProvider
from pydantic import ValidationError

from mcp_gateway import __version__
from mcp_gateway.app import Gateway
from mcp_gateway.config import Config
from mcp_gateway.metrics import Metrics
from mcp_gateway.sdk import CallOutcome, Cell, CellContext, GatewayView, Principal, ToolError, ToolInfo


class LocalGatewayView:
    """A `GatewayView` that calls the given cells directly, without the pipeline, and releases
    the given secrets to any cell (no policy, no audit: for a cell's own unit tests)."""

    def __init__(self, cells: Sequence[Cell] = (), secrets: Mapping[str, str] | None = None) -> None:
        self._tools = {(f"{cell.namespace}.{spec.name}"): (cell, spec) for cell in cells for spec in cell.tool_specs}
        self._secrets = dict(secrets or {})

    async def read_secret(self, cell: Principal, name: str, *, caller: Principal) -> str:
        if name not in self._secrets:
            raise ToolError(f"secret {name!r} is not available")
        return self._secrets[name]

    @property
    def version(self) -> str:
        return __version__

    def visible_tools(self, principal: Principal) -> Sequence[ToolInfo]:
        return [
            ToolInfo(name, spec.description, spec.risk, spec.cost, cell.version)
            for name, (cell, spec) in sorted(self._tools.items())
        ]

    async def call_tool(
        self, principal: Principal, tool: str, arguments: Mapping[str, Any], *, depth: int = 1
    ) -> CallOutcome:
        cell, spec = self._tools[tool]
        try:
            args = spec.input_model.model_validate(arguments)
            out = await cell.bound_tool(spec)(args, cell_context(principal, self, cell.namespace))
        except (ToolError, ValidationError) as exc:
            return CallOutcome(is_error=True, text=str(exc), structured=None)
        data = out.model_dump(mode="json")
        return CallOutcome(is_error=False, text=out.model_dump_json(), structured=data)


def cell_context(
    principal: Principal | None = None,
    gateway: GatewayView | None = None,
    namespace: str = "test",
    transport: str = "test",
) -> CellContext:
    """The context a tool receives, for calling a cell's tool methods directly in tests."""
    return CellContext(
        principal=principal or Principal("tester"),
        transport=transport,
        request_id="1",
        cell_principal=Principal(f"cell:{namespace}"),
        gateway=gateway or LocalGatewayView(),
    )


@asynccontextmanager
async def gateway_client(
    config: Config,
    *,
    tracer_provider: TracerProvider | None = None,
    principal: str | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[tuple[Gateway, Client]]:
    """The whole gateway, running in-process, behind the real `mcp.Client` (no transport).
    `metrics`: e.g. `OtelMetrics(MeterProvider(metric_readers=[InMemoryMetricReader()]))`."""
    gateway = Gateway(config, tracer_provider=tracer_provider, stdio_principal=principal, metrics=metrics)
    async with gateway.running(), Client(gateway.server.sdk) as client:
        yield gateway, client
