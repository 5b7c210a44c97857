"""The gateway's bus when distribution is on: cells hosted in this process are called in memory,
every other address goes over the broker to the workers that host it.

A gateway on a broker also serves `_gateway` there: the way back for cells hosted by workers,
whose `ctx.call_tool` must cross a gateway's pipeline like any other call (callbacks.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskStatus

from mcp_gateway.bus.base import Bus, BusHandler, BusReply, BusRequest
from mcp_gateway.bus.callbacks import CALLBACK_ADDRESS, callback_handler
from mcp_gateway.bus.memory import MemoryBus
from mcp_gateway.bus.remote import RemoteBus
from mcp_gateway.sdk import GatewayView


class RoutedBus:
    def __init__(self, remote: RemoteBus, local: MemoryBus | None = None) -> None:
        self.remote = remote
        self.local = local or MemoryBus()

    async def request(self, address: str, message: BusRequest, timeout: float) -> BusReply:
        if self.local.serves(address):
            return await self.local.request(address, message, timeout)
        return await self.remote.request(address, message, timeout)

    async def serve(
        self, address: str, handler: BusHandler, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        await self.local.serve(address, handler, task_status=task_status)


@asynccontextmanager
async def linked(bus: Bus, gateway: GatewayView) -> AsyncIterator[None]:
    """While the gateway runs: its broker connected, and the way back for workers' cells served.
    A memory bus needs neither. Raises `BusUnavailable` when the broker cannot be reached."""
    if not isinstance(bus, RoutedBus):
        yield
        return
    async with bus.remote.connected(), anyio.create_task_group() as tg:
        await tg.start(bus.remote.serve, CALLBACK_ADDRESS, callback_handler(gateway))
        try:
            yield
        finally:
            tg.cancel_scope.cancel()
