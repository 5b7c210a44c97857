from __future__ import annotations

import anyio
import pytest

from mcp_gateway.bus.base import BusReply, BusRequest
from mcp_gateway.bus.memory import MemoryBus
from mcp_gateway.errors import ToolTimeout, ToolUnavailable
from mcp_gateway.pipeline import ToolResult
from mcp_gateway.sdk import Principal

pytestmark = pytest.mark.anyio


def _request(tool: str = "a.echo", **arguments: object) -> BusRequest:
    return BusRequest(tool=tool, arguments=arguments, principal=Principal("p"), transport="test")


async def echo(request: BusRequest) -> BusReply:
    if request.arguments.get("hang"):
        await anyio.Event().wait()
    if request.arguments.get("boom"):
        raise RuntimeError("secret detail")
    return BusReply(ToolResult.error(str(request.arguments["text"])))


async def test_request_reaches_the_server_and_replies_return() -> None:
    bus = MemoryBus()
    async with anyio.create_task_group() as tg:
        await tg.start(bus.serve, "a", echo)
        replies = []

        async def one(i: int) -> None:
            replies.append((await bus.request("a", _request(text=i), 5)).result.text())

        async with anyio.create_task_group() as calls:
            for i in range(50):
                calls.start_soon(one, i)
        assert sorted(replies, key=int) == [str(i) for i in range(50)]
        tg.cancel_scope.cancel()


async def test_unserved_address_timeout_and_crash() -> None:
    bus = MemoryBus()
    with pytest.raises(ToolUnavailable):
        await bus.request("nobody", _request(), 1)
    async with anyio.create_task_group() as tg:
        await tg.start(bus.serve, "a", echo)
        with pytest.raises(ToolTimeout):
            await bus.request("a", _request(hang=True), 0.05)
        crashed = (await bus.request("a", _request(boom=True), 5)).result
        assert crashed.is_error and "secret detail" not in crashed.text()
        assert (await bus.request("a", _request(text="after"), 5)).result.text() == "after"
        tg.cancel_scope.cancel()
    with pytest.raises(ToolUnavailable):
        await bus.request("a", _request(), 1)
