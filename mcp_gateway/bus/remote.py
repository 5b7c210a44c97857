"""What the broker adapters (nats.py, redis.py) share: their protocol, the bounded intake of a
host, and how a host runs one call.

A host runs each call shielded from its own shutdown but never past the caller's deadline:
a worker told to stop (SIGTERM) takes no new call, finishes the ones it has, answers them,
and only then closes its connection.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream

from mcp_gateway.bus.base import BusHandler, BusReply, BusRequest
from mcp_gateway.bus.envelope import Envelopes, OpenedCall
from mcp_gateway.bus_config import BusConfig
from mcp_gateway.errors import GatewayError, ToolTimeout
from mcp_gateway.pipeline import ToolResult

logger = logging.getLogger(__name__)

RetrySafe = Callable[[str], bool]
"""Whether the tool with this canonical name may run again after its host died mid-call
(read-only or idempotent tools); any other tool runs at most once."""


def never(tool: str) -> bool:
    return False


class BusUnavailable(GatewayError):
    """The broker cannot be reached when a gateway or a worker starts."""


class RemoteBus(Protocol):
    """A `Bus` over a broker: connect it first, with `async with bus.connected():`."""

    def connected(self) -> AbstractAsyncContextManager[RemoteBus]: ...

    async def request(self, address: str, message: BusRequest, timeout: float) -> BusReply: ...

    async def serve(
        self,
        address: str,
        handler: BusHandler,
        *,
        retry_safe: RetrySafe = never,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None: ...


def slots(max_in_flight: int) -> anyio.Semaphore:
    """A bound on calls in flight that costs no turn of the event loop while a slot is free
    (a `CapacityLimiter` yields on every acquire: a measurable share of a remote call)."""
    return anyio.Semaphore(max_in_flight, fast_acquire=True)


Job = Callable[[], Awaitable[None]]


class Pool:
    """A host's workers: `workers` long-lived tasks run the calls handed to them, at most
    `queued` more wait in a bounded buffer, and a call beyond both is refused at once (busy)
    instead of piling up in memory. Long-lived tasks rather than one per call: starting a task
    costs more than the rest of a host's work on a small call.

    Workers are shielded from the host's shutdown: once `close()`d they finish the calls in
    hand and those queued (each bounded by its caller's deadline), then end."""

    def __init__(self, workers: int, queued: int) -> None:
        self.workers = workers
        self.bound = workers + queued
        self._send, self._receive = anyio.create_memory_object_stream[Job](queued)
        self.held = 0
        """Calls accepted and not finished (running or waiting)."""
        self.peak = 0

    def offer(self, job: Job) -> bool:
        if self.held >= self.bound:
            return False
        try:
            self._send.send_nowait(job)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            return False
        self.held += 1
        self.peak = max(self.peak, self.held)
        return True

    def close(self) -> None:
        self._send.close()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(self.workers):
                tg.start_soon(self._work, self._receive.clone())
            self._receive.close()
            task_status.started()

    async def _work(self, receive: MemoryObjectReceiveStream[Job]) -> None:
        with anyio.CancelScope(shield=True):
            async with receive:
                async for job in receive:
                    try:
                        await job()
                    finally:
                        self.held -= 1


async def answer(handler: BusHandler, message: BusRequest) -> BusReply:
    """The handler's reply; a crash becomes an error reply for this call only."""
    try:
        return await handler(message)
    except Exception:
        ref = uuid.uuid4().hex[:12]
        logger.exception("the handler for %s raised (ref %s)", message.tool, ref)
        return BusReply(ToolResult.error(f"internal error in {message.tool} (ref {ref})"))


def remaining(opened: OpenedCall) -> float:
    return max(0.0, opened.deadline - time.time())


async def run_call(handler: BusHandler, opened: OpenedCall) -> BusReply | ToolTimeout:
    """Run the call within the caller's deadline (shielded from shutdown, which waits for it)."""
    with anyio.move_on_after(remaining(opened), shield=True):
        return await answer(handler, opened.message)
    return ToolTimeout(f"{opened.message.tool} did not finish before its deadline")


def envelopes_for(config: BusConfig, key: bytes) -> Envelopes:
    return Envelopes(key, max_bytes=config.max_envelope_bytes, max_age=config.max_age, clock_skew=config.clock_skew)


def sealed_answer(envelopes: Envelopes, opened: OpenedCall, outcome: BusReply | ToolTimeout) -> bytes:
    """The reply to send for a call `run_call` ran: its result, or the refusal of its timeout."""
    if isinstance(outcome, ToolTimeout):
        return envelopes.seal_refusal(opened.id, outcome)
    return envelopes.seal_reply(opened.id, outcome, opened.message.tool)


class Backoff:
    """Reconnection pauses: `first`, doubling up to `cap`; `reset()` after a success."""

    def __init__(self, first: float, cap: float) -> None:
        self._first, self._cap = first, max(cap, first)
        self._next = first

    async def pause(self) -> None:
        await anyio.sleep(self._next)
        self._next = min(self._next * 2, self._cap)

    def reset(self) -> None:
        self._next = self._first
