"""What only a bus over a broker must show: forged envelopes published straight to the broker
are refused, a flood meets a bound instead of growing memory, and a restarted broker is
reconnected to (calls fail cleanly while it is down)."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import nats
import pytest
from redis.asyncio import Redis

from mcp_gateway.bus.base import BusReply, BusRequest
from mcp_gateway.bus.envelope import Envelopes
from mcp_gateway.bus.nats import NatsBus
from mcp_gateway.bus.redis import RedisBus
from mcp_gateway.bus_config import BusConfig
from mcp_gateway.errors import ToolTimeout, ToolUnavailable
from mcp_gateway.pipeline import ToolResult
from tests.bus.brokers import running_broker
from tests.bus.support import KEY, call, config_for, connected_pair, remote

pytestmark = pytest.mark.anyio

MARKER = "payload-marker-7f3a"


async def inject(config: BusConfig, address: str, wire: bytes) -> None:
    """Publish raw bytes where calls for `address` travel, as anyone on the broker could."""
    if config.kind == "nats":
        client = await nats.connect(config.url)
        try:
            await client.publish(f"{config.prefix}.call.{address}", wire, reply="_INBOX.forger")
            await client.flush()
        finally:
            await client.close()
    else:
        redis = Redis.from_url(config.url)
        try:
            await redis.xadd(f"{config.prefix}:calls:{address}", {"e": wire})
        finally:
            await redis.aclose()


def sealed(key: bytes = KEY, *, clock: float | None = None, timeout: float = 10) -> bytes:
    kwargs = {"clock": (lambda: clock)} if clock is not None else {}
    env = Envelopes(key, max_bytes=1 << 20, max_age=30, clock_skew=5, **kwargs)  # type: ignore[arg-type]
    return env.seal_call("a", call(text=MARKER), timeout)[1]


@pytest.mark.req("R-041")
async def test_forged_replayed_and_stale_envelopes_on_the_broker_are_refused(
    remote_config: BusConfig, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []
    done = anyio.Event()

    async def record(request: BusRequest) -> BusReply:
        ran.append(str(request.arguments["text"]))
        if len(ran) == 2:
            done.set()
        return BusReply(ToolResult.error("ok"))

    replayed = sealed()
    forgeries = [
        b'{"k":"call","tool":"a.x","args":{"text":"' + MARKER.encode() + b'"}}',  # unsigned
        sealed(b"not-the-key-but-as-long-as-one-is!"),  # signed with another key
        replayed,
        replayed,  # the same envelope again
        sealed(clock=1_000_000.0),  # sealed long ago
    ]
    caplog.set_level(logging.WARNING, logger="mcp_gateway.bus.envelope")
    async with connected_pair(remote_config) as (caller, host), anyio.create_task_group() as tg:
        await tg.start(host.serve, "a", record)
        for wire in forgeries:
            await inject(remote_config, "a", wire)
        await caller.request("a", call(text="legit"), 5)
        with anyio.fail_after(5):
            await done.wait()
        tg.cancel_scope.cancel()
    assert sorted(ran) == sorted([MARKER, "legit"])  # the replayed envelope ran once, nothing else did
    reasons = [record.getMessage() for record in caplog.records if "refused an envelope on a:" in record.getMessage()]
    assert len(reasons) == 4
    for reason in ("unsigned", "bad signature", "replayed", "too old"):
        assert any(f"on a: {reason}" in line for line in reasons), reason
    assert not any(MARKER in record.getMessage() for record in caplog.records)


@pytest.mark.req("R-041")
async def test_on_redis_a_replay_is_refused_by_a_host_that_never_saw_the_call(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    """Each host remembers the ids it opened; on Redis the first host also claims the id in the
    broker, so the same envelope added again is refused by a fresh host too."""
    config = config_for("redis", request)
    ran: list[str] = []

    async def record(request: BusRequest) -> BusReply:
        ran.append(str(request.arguments["text"]))
        return BusReply(ToolResult.error("ok"))

    replayed = sealed()
    caplog.set_level(logging.WARNING, logger="mcp_gateway.bus.envelope")
    for name in ("first-host", "fresh-host"):  # one after the other: the second has its own, empty memory
        async with remote(config, name=name).connected() as host, anyio.create_task_group() as tg:
            await tg.start(host.serve, "a", record)
            await inject(config, "a", replayed)
            with anyio.fail_after(5):
                while not (ran or "opened by another host" in caplog.text):
                    await anyio.sleep(0.02)
            tg.cancel_scope.cancel()
    assert ran == [MARKER]
    assert "refused an envelope on a: replayed (opened by another host)" in caplog.text


@pytest.mark.req("R-043")
async def test_a_flood_meets_the_bound_and_memory_does_not_grow(remote_config: BusConfig) -> None:
    host_config = remote_config.model_copy(update={"max_in_flight": 2, "max_queued": 3})
    caller_config = remote_config.model_copy(update={"max_in_flight": 1000})
    release = anyio.Event()
    outcomes: list[str] = []
    samples: list[int] = []

    async def slow(request: BusRequest) -> BusReply:
        await release.wait()
        return BusReply(ToolResult.error("ok"))

    async def one() -> None:
        try:
            await caller.request("a", call(), 10)
            outcomes.append("ok")
        except ToolUnavailable as refused:
            assert "busy" in refused.message
            outcomes.append("busy")

    async with (
        remote(caller_config, name="caller").connected() as caller,
        remote(host_config, name="host").connected() as host,
        anyio.create_task_group() as tg,
    ):
        await tg.start(host.serve, "a", slow)
        with anyio.fail_after(15):
            async with anyio.create_task_group() as flood:
                for _ in range(60):
                    flood.start_soon(one)
                while len(outcomes) < 55:
                    samples.append(await _held(host, "a"))
                    await anyio.sleep(0.01)
                samples.append(await _held(host, "a"))
                release.set()
        tg.cancel_scope.cancel()
    assert outcomes.count("busy") == 55 and outcomes.count("ok") == 5
    assert max(samples) <= 5


async def _held(bus: object, address: str) -> int:
    """Calls a host holds: in its own memory (NATS) or in the broker's stream (Redis)."""
    if isinstance(bus, NatsBus):
        pool = bus.pools[address]
        assert pool.peak <= pool.bound
        return pool.held
    assert isinstance(bus, RedisBus)
    return await bus.queued(address)


@pytest.mark.req("R-042")
async def test_calls_fail_cleanly_while_the_broker_is_down_and_succeed_once_it_is_back(
    remote_kind: str, tmp_path: Path
) -> None:
    with running_broker(remote_kind, tmp_path / "broker") as broker:
        config = BusConfig(url=broker.url, reconnect_wait=0.05, reconnect_max_wait=0.2, heartbeat=0.2)

        async def echo(request: BusRequest) -> BusReply:
            return BusReply(ToolResult.error(str(request.arguments["text"])))

        async with connected_pair(config) as (caller, host), anyio.create_task_group() as tg:
            await tg.start(host.serve, "a", echo)
            with anyio.fail_after(10):  # under a loaded machine the caller's connection may lag
                while True:
                    try:
                        first = await caller.request("a", call(text="before"), 5)
                        break
                    except ToolUnavailable:
                        await anyio.sleep(0.05)
            assert first.result.text() == "before"
            broker.stop()
            with anyio.fail_after(5):
                for _ in range(3):
                    with pytest.raises((ToolUnavailable, ToolTimeout)):
                        await caller.request("a", call(text="down"), 1)
            broker.start()
            with anyio.fail_after(20):
                while True:
                    try:
                        reply = await caller.request("a", call(text="after"), 1)
                        break
                    except (ToolUnavailable, ToolTimeout):
                        await anyio.sleep(0.05)
            assert reply.result.text() == "after"
            tg.cancel_scope.cancel()
