"""A worker hosts cells for gateways, in another process or on another machine.

The pipeline stays in the gateway (the DMZ): a gateway has identified, budgeted, authorised,
validated and scanned a call before it seals it for the broker, and it scans the result that
comes back. A worker only runs `CellHost.handle` (which validates the arguments once more) for
envelopes signed with the gateways' key, refusing anything else (envelope.py). Its cells reach
other tools through a gateway's pipeline, over the bus (callbacks.py); they get no secrets.
High-risk tools run in the worker's own jail, as they would in a gateway's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack

import anyio
from anyio.abc import TaskStatus
from opentelemetry import context as otel_context
from opentelemetry import trace

from mcp_gateway.bus.base import BusHandler, BusReply, BusRequest
from mcp_gateway.bus.callbacks import BusGatewayView
from mcp_gateway.bus.remote import RemoteBus, RetrySafe
from mcp_gateway.cellhost import CellHost, start_cells
from mcp_gateway.config import CellConfig, Config
from mcp_gateway.errors import CellLoadError, ConfigError
from mcp_gateway.jailed_tools import JailedTools
from mcp_gateway.registry import LoadedCell, import_cell, load_cells
from mcp_gateway.telemetry import extract_context

logger = logging.getLogger(__name__)


def select_cells(config: Config, namespaces: Sequence[str]) -> list[LoadedCell]:
    """The enabled `[[cells]]` serving `namespaces`, built (not started); a `ConfigError` names
    any namespace that no entry serves."""
    wanted = set(namespaces)
    chosen: list[CellConfig] = []
    found: set[str] = set()
    for index, cell_config in enumerate(config.cells):
        if not cell_config.enabled:
            continue
        namespace = import_cell(cell_config.module, config.source, f"cells[{index}]").namespace
        if namespace in wanted:
            chosen.append(cell_config)
            found.add(namespace)
    missing = sorted(wanted - found)
    if missing:
        raise ConfigError(config.source, "cells", f"no enabled [[cells]] entry serves {', '.join(missing)}")
    return load_cells(config.model_copy(update={"cells": chosen}))


def retry_safe_tools(hosts: Sequence[CellHost]) -> RetrySafe:
    """Read-only and idempotent tools may run again when their host died mid-call."""
    safe = {
        f"{host.cell.namespace}.{spec.name}"
        for host in hosts
        for spec in host.cell.tool_specs
        if spec.read_only or spec.idempotent
    }
    return safe.__contains__


def traced(handler: BusHandler, tracer: trace.Tracer | None) -> BusHandler:
    """Run each call in the trace the gateway carried across the bus."""

    async def handle(request: BusRequest) -> BusReply:
        if tracer is None and not request.trace_context:
            return await handler(request)
        parent = extract_context(request.trace_context)
        token = otel_context.attach(parent) if parent is not None else None
        try:
            if tracer is None:
                return await handler(request)
            with tracer.start_as_current_span(f"worker {request.tool}", kind=trace.SpanKind.CONSUMER):
                return await handler(request)
        finally:
            if token is not None:
                otel_context.detach(token)

    return handle


class Worker:
    def __init__(
        self, config: Config, namespaces: Sequence[str], bus: RemoteBus, *, tracer: trace.Tracer | None = None
    ) -> None:
        self.config, self.bus, self._tracer = config, bus, tracer
        loaded = select_cells(config, namespaces)
        risky = [item for item in loaded if any(spec.risk == "high" for spec in item.cell.tool_specs)]
        if risky and not config.jail.enabled:
            names = ", ".join(item.cell.namespace for item in risky)
            raise CellLoadError(f"cells {names} declare high-risk tools, which run only in the jail; [jail] is off")
        self.jail = JailedTools(config.jail, risky) if risky else None
        view = BusGatewayView(bus, config.bus.callback_timeout)
        self.hosts = [CellHost(item.cell, view, self.jail if item in risky else None) for item in loaded]
        self.retry_safe = retry_safe_tools(self.hosts)

    @property
    def namespaces(self) -> list[str]:
        return [host.address for host in self.hosts]

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the cells, connect, serve until cancelled; then finish the calls in hand, answer
        them, and stop the cells."""
        async with AsyncExitStack() as stack:
            (self.config.server.state_dir / "cells").mkdir(parents=True, exist_ok=True, mode=0o700)
            await start_cells(self.hosts, stack)
            if self.jail is not None:
                await self.jail.start()
                stack.push_async_callback(self.jail.aclose)
            await stack.enter_async_context(self.bus.connected())
            async with anyio.create_task_group() as tg:
                for host in self.hosts:
                    serve = functools.partial(self.bus.serve, retry_safe=self.retry_safe)
                    await tg.start(serve, host.address, traced(host.handle, self._tracer))
                logger.info("worker: serving %s", ", ".join(self.namespaces))
                task_status.started()
