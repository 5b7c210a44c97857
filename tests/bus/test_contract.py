"""The one contract every bus keeps, run against the memory bus, NATS and Redis alike."""

from __future__ import annotations

from typing import Any

import anyio
import mcp.types as t
import pytest

from mcp_gateway.bus.base import Bus, BusReply, BusRequest
from mcp_gateway.errors import ToolTimeout, ToolUnavailable
from mcp_gateway.pipeline import ToolResult
from mcp_gateway.sdk import Principal
from tests.bus.support import call

pytestmark = [pytest.mark.anyio, pytest.mark.req("R-039")]


async def echo(request: BusRequest) -> BusReply:
    if request.arguments.get("hang"):
        await anyio.sleep_forever()
    if request.arguments.get("boom"):
        raise RuntimeError("secret detail")
    return BusReply(ToolResult.error(str(request.arguments["text"])))


async def test_requests_reach_the_host_and_replies_come_back(pair: tuple[Bus, Bus]) -> None:
    caller, host = pair
    async with anyio.create_task_group() as tg:
        await tg.start(host.serve, "a", echo)
        replies: list[str] = []

        async def one(i: int) -> None:
            replies.append((await caller.request("a", call(text=i), 5)).result.text())

        with anyio.fail_after(10):
            async with anyio.create_task_group() as calls:
                for i in range(50):
                    calls.start_soon(one, i)
        assert sorted(replies, key=int) == [str(i) for i in range(50)]
        tg.cancel_scope.cancel()


async def test_an_unserved_address_is_unavailable_at_once(pair: tuple[Bus, Bus]) -> None:
    caller, _ = pair
    with anyio.fail_after(2), pytest.raises(ToolUnavailable):
        await caller.request("nobody", call(), 30)


async def test_a_deadline_a_crash_and_a_stopped_host(pair: tuple[Bus, Bus]) -> None:
    caller, host = pair
    async with anyio.create_task_group() as tg:
        await tg.start(host.serve, "a", echo)
        with anyio.fail_after(5), pytest.raises(ToolTimeout, match="did not answer within 0.2 s"):
            await caller.request("a", call(hang=True), 0.2)
        crashed = (await caller.request("a", call(boom=True), 5)).result
        assert crashed.is_error and "internal error in a.echo" in crashed.text()
        assert "secret detail" not in crashed.text()
        assert (await caller.request("a", call(text="after"), 5)).result.text() == "after"
        tg.cancel_scope.cancel()
    with anyio.fail_after(5), pytest.raises(ToolUnavailable):
        await caller.request("a", call(), 30)


async def test_everything_a_host_needs_travels_and_every_kind_of_content_comes_back(pair: tuple[Bus, Bus]) -> None:
    caller, host = pair
    seen: list[BusRequest] = []
    content: list[t.ContentBlock] = [
        t.TextContent(type="text", text="héllo ✓"),
        t.ImageContent(type="image", data="aGk=", mime_type="image/png"),
        t.EmbeddedResource(
            type="resource", resource=t.TextResourceContents(uri="file:///x.txt", text="x", mime_type="text/plain")
        ),
    ]
    structured: dict[str, Any] = {"n": 1, "nested": {"list": [1, "two", None, True]}}

    async def record(request: BusRequest) -> BusReply:
        seen.append(request)
        return BusReply(ToolResult(content=list(content), structured=structured, is_error=False))

    request = BusRequest(
        tool="a.record",
        arguments={"text": "ünïcode", "deep": {"a": [1, 2.5, None, {"b": False}]}},
        principal=Principal("alice", ("user", "support"), "acme"),
        transport="http",
        request_id="42",
        depth=3,
        trace_context={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    )
    async with anyio.create_task_group() as tg:
        await tg.start(host.serve, "a", record)
        result = (await caller.request("a", request, 5)).result
        tg.cancel_scope.cancel()
    assert seen == [request]
    assert result.content == content and result.structured == structured and not result.is_error


async def test_a_host_runs_at_most_max_in_flight_calls_at_once(pair: tuple[Bus, Bus]) -> None:
    caller, host = pair
    running = peak = 0

    async def slow(request: BusRequest) -> BusReply:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.02)
        running -= 1
        return BusReply(ToolResult.error("ok"))

    async with anyio.create_task_group() as tg:
        await tg.start(host.serve, "a", slow)
        with anyio.fail_after(20):
            async with anyio.create_task_group() as calls:
                for _ in range(100):
                    calls.start_soon(caller.request, "a", call(), 20)
        tg.cancel_scope.cancel()
    assert 1 <= peak <= 64  # BusConfig().max_in_flight, the bound of every bus here
