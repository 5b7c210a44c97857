"""The in-process bus: a call runs the serving handler directly, in the caller's task.

No queue and no hand-off between tasks: on one event loop a hand-off only adds scheduler turns
(measured in-process: the whole pipeline took ~0.29 ms a call with an inbox, a spawned task and
a reply stream, ~0.06 ms this way).
What a queue would give is kept: a per-address limit on calls in flight (backpressure: the
next caller waits for a slot within its own deadline), a deadline that cancels the handler,
and a handler's crash turned into an error reply instead of a broken caller.
"""

from __future__ import annotations

import logging
import math

import anyio
from anyio.abc import TaskStatus

from mcp_gateway.bus.base import BusHandler, BusReply, BusRequest
from mcp_gateway.errors import ToolTimeout, ToolUnavailable
from mcp_gateway.pipeline import ToolResult

logger = logging.getLogger(__name__)


class MemoryBus:
    def __init__(self, max_in_flight: int = 256) -> None:
        self._max_in_flight = max_in_flight
        self._served: dict[str, tuple[BusHandler, anyio.Semaphore]] = {}

    def serves(self, address: str) -> bool:
        return address in self._served

    async def request(self, address: str, message: BusRequest, timeout: float) -> BusReply:
        served = self._served.get(address)
        if served is None:
            raise ToolUnavailable(f"no cell serves {address!r}")
        handler, limiter = served
        # A bare deadline scope, not `fail_after`: 12 µs against 21 on every call.
        deadline = anyio.current_time() + timeout if math.isfinite(timeout) else math.inf
        try:
            with anyio.CancelScope(deadline=deadline):
                async with limiter:
                    return await handler(message)
        except TimeoutError as exc:  # the handler's own deadline
            raise ToolTimeout(f"{message.tool} did not answer within {timeout:g} s") from exc
        except Exception:
            # A host must answer every request: a crash becomes an error reply for this call only.
            logger.exception("the handler for %s raised", message.tool)
            return BusReply(ToolResult.error(f"internal error in {message.tool}"))
        raise ToolTimeout(f"{message.tool} did not answer within {timeout:g} s")  # the deadline passed

    async def serve(
        self, address: str, handler: BusHandler, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        if address in self._served:
            raise ValueError(f"{address!r} is already served on this bus")
        # fast_acquire: a free slot costs no turn of the event loop (one per call otherwise).
        self._served[address] = (handler, anyio.Semaphore(self._max_in_flight, fast_acquire=True))
        task_status.started()
        try:
            await anyio.sleep_forever()
        finally:
            del self._served[address]
