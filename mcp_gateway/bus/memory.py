"""The in-process bus: one anyio memory stream per address, a one-shot reply stream per call."""

from __future__ import annotations

import logging
import math

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectSendStream

from mcp_gateway.bus.base import BusHandler, BusReply, BusRequest
from mcp_gateway.errors import ToolTimeout, ToolUnavailable
from mcp_gateway.pipeline import ToolResult

logger = logging.getLogger(__name__)

_Envelope = tuple[BusRequest, MemoryObjectSendStream[BusReply]]


class MemoryBus:
    """Requests wait in a bounded inbox per address, so a flood meets backpressure."""

    def __init__(self, inbox_size: int = 256) -> None:
        self._inbox_size = inbox_size
        self._inboxes: dict[str, MemoryObjectSendStream[_Envelope]] = {}

    async def request(self, address: str, message: BusRequest, timeout: float) -> BusReply:
        inbox = self._inboxes.get(address)
        if inbox is None:
            raise ToolUnavailable(f"no cell serves {address!r}")
        reply_send, reply_receive = anyio.create_memory_object_stream[BusReply](1)
        with reply_receive:
            try:
                with anyio.fail_after(timeout if math.isfinite(timeout) else None):
                    await inbox.send((message, reply_send))
                    return await reply_receive.receive()
            except TimeoutError as exc:
                raise ToolTimeout(f"{message.tool} did not answer within {timeout:g} s") from exc
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream) as exc:
                raise ToolUnavailable(f"the host of {address!r} went away") from exc

    async def serve(
        self, address: str, handler: BusHandler, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        if address in self._inboxes:
            raise ValueError(f"{address!r} is already served on this bus")
        send, receive = anyio.create_memory_object_stream[_Envelope](self._inbox_size)
        self._inboxes[address] = send
        task_status.started()
        try:
            async with anyio.create_task_group() as tg, receive:
                async for request, reply_to in receive:
                    tg.start_soon(_answer, handler, request, reply_to)
        finally:
            del self._inboxes[address]
            send.close()


async def _answer(handler: BusHandler, request: BusRequest, reply_to: MemoryObjectSendStream[BusReply]) -> None:
    with reply_to:
        try:
            reply = await handler(request)
        except Exception:
            # A host must answer every request; this is the outermost handler of a bus task.
            logger.exception("the handler for %s raised", request.tool)
            reply = BusReply(ToolResult.error(f"internal error in {request.tool}"))
        try:
            await reply_to.send(reply)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            logger.debug("the caller of %s stopped waiting", request.tool)
