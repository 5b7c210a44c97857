"""The bus over Redis (redis-py): a stream per address read by a consumer group, replies on
each caller's own channel.

Calls: a caller adds the signed envelope to `<prefix>:calls:<address>` with a script that
first checks, in the same step, that a live host serves the address (else: unavailable at
once) and that the stream holds fewer than `max_in_flight + max_queued` calls (else: busy).
Hosts read with XREADGROUP, one call per free slot, so a slow host leaves calls in the broker
instead of its memory. When a call is answered the host publishes the reply to the caller's
channel (`<prefix>:replies:<bus id>`, named in the signed envelope) and acknowledges and
deletes the entry, in one round trip.

A host that dies leaves the calls it had read pending under its name. Every host beats
(`<prefix>:alive`, and `<prefix>:hosts:<address>` while it takes calls); one silent for three
beats is dead, and a live host takes over its pending calls: a read-only or idempotent tool
runs again, any other tool does not (it may have run): its caller gets an error saying so.
Connections that break are retried with backoff; a restarted broker that lost its data gets
its consumer groups back from the hosts' next read.
"""

from __future__ import annotations

import functools
import logging
import math
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskStatus
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from mcp_gateway.bus.base import BusHandler, BusReply, BusRequest
from mcp_gateway.bus.envelope import UNREADABLE, Envelopes, OpenedReply, key_id, log_refused
from mcp_gateway.bus.remote import Backoff, BusUnavailable, Pool, RetrySafe, never, run_call, slots
from mcp_gateway.bus_config import BusConfig, redacted
from mcp_gateway.errors import ToolTimeout, ToolUnavailable

logger = logging.getLogger(__name__)

GROUP = "hosts"
FIELD = b"e"
BEATS_TO_DEATH = 3
SOCKET_TIMEOUT = 15.0
"""Longer than any blocking read (one heartbeat), so only a dead connection times out."""
BROKEN = (RedisError, OSError)

_SUBMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZCOUNT', KEYS[2], now, '+inf') == 0 then return 0 end
local bound = tonumber(redis.call('GET', KEYS[3]) or ARGV[2])
if redis.call('XLEN', KEYS[1]) >= bound then return -1 end
redis.call('XADD', KEYS[1], '*', 'e', ARGV[1])
return 1
"""
_BEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = ARGV[4] == '1' and 2 or 1
for i = 1, last do
  redis.call('ZADD', KEYS[i], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
end
if last == 2 then redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2]) end
return now
"""
_ALIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
"""


@dataclass
class _Waiter:
    done: anyio.Event
    opened: OpenedReply | None = None


@dataclass
class _Host:
    address: str
    stream: str
    hosts: str
    handler: BusHandler
    retry_safe: RetrySafe
    slots: anyio.Semaphore
    slot_count: int
    pool: Pool
    accepting: bool = True
    """False once the host is stopping: it still beats as alive, no longer as a host of the address."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entries(items: Any) -> list[tuple[bytes, bytes]]:
    """`(entry id, envelope)` of stream entries as redis-py returns them (XCLAIM, or one
    stream's part of XREADGROUP); an entry deleted meanwhile has no fields and is skipped."""
    found = []
    for entry_id, fields in items or []:
        if fields:
            found.append((entry_id, fields.get(FIELD, b"")))
    return found


class RedisBus:
    def __init__(self, config: BusConfig, key: Callable[[], bytes], *, name: str = "mcp-gateway") -> None:
        """`key` is called once, on connection (reading it may need the secret store)."""
        self._config, self._key, self._name = config, key, name
        self.id = f"{name}-{secrets.token_hex(8)}"
        """This bus's consumer name and reply channel: unique per process and connection."""
        prefix = config.prefix
        self._channel = f"{prefix}:replies:{self.id}"
        self._alive_key = f"{prefix}:alive"
        self._redis: Redis | None = None
        self._envelopes: Envelopes | None = None
        self._listening = False
        self._waiters: dict[str, _Waiter] = {}
        self._limits: dict[str, anyio.Semaphore] = {}

    def stream_of(self, address: str) -> str:
        return f"{self._config.prefix}:calls:{address}"

    def _hosts_of(self, address: str) -> str:
        return f"{self._config.prefix}:hosts:{address}"

    def _bound_of(self, address: str) -> str:
        """The hosts' bound on the calls of `address` in the broker (`max_in_flight + max_queued`)."""
        return f"{self._config.prefix}:bound:{address}"

    def _client(self) -> tuple[Redis, Envelopes]:
        if self._redis is None or self._envelopes is None:
            raise ToolUnavailable("the bus is not connected")
        return self._redis, self._envelopes

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[RedisBus]:
        config = self._config
        key = self._key()
        self._envelopes = Envelopes(
            key, max_bytes=config.max_envelope_bytes, max_age=config.max_age, clock_skew=config.clock_skew
        )
        redis = Redis.from_url(
            config.url,
            socket_connect_timeout=config.connect_timeout,
            socket_timeout=SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 1),  # one immediate retry on a fresh connection, then fail: callers wait for none
            client_name=self.id,
        )
        try:
            with anyio.fail_after(config.connect_timeout):
                await redis.ping()
        except (*BROKEN, TimeoutError) as exc:
            await redis.aclose()
            raise BusUnavailable(f"cannot reach the bus at {redacted(config.url)} ({type(exc).__name__})") from None
        self._redis = redis
        self._submit = redis.register_script(_SUBMIT)
        self._beat = redis.register_script(_BEAT)
        self._alive = redis.register_script(_ALIVE)
        logger.info("bus: connected to %s (key id %s)", redacted(config.url), key_id(key))
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(self._read_replies)
                try:
                    yield self
                finally:
                    tg.cancel_scope.cancel()
        finally:
            self._redis = None
            self._listening = False
            with anyio.CancelScope(shield=True):
                await redis.aclose()

    # --- the caller's side ---------------------------------------------------------------
    async def request(self, address: str, message: BusRequest, timeout: float) -> BusReply:
        redis, envelopes = self._client()
        if not self._listening:
            raise ToolUnavailable("the bus is not connected (reconnecting)")
        call_id, wire = envelopes.seal_call(address, message, timeout, reply_to=self._channel)
        limiter = self._limits.get(address) or self._limits.setdefault(address, slots(self._config.max_in_flight))
        waiter = self._waiters[call_id] = _Waiter(anyio.Event())
        bound = self._config.max_in_flight + self._config.max_queued
        try:
            with anyio.fail_after(timeout if math.isfinite(timeout) else None):
                async with limiter:
                    keys = [self.stream_of(address), self._hosts_of(address), self._bound_of(address)]
                    status = await self._submit(keys=keys, args=[wire, bound])
                    if status == 0:
                        raise ToolUnavailable(f"no worker serves {address!r}")
                    if status < 0:
                        raise ToolUnavailable(f"{address} is busy: try again shortly")
                    await waiter.done.wait()
        except TimeoutError:
            raise ToolTimeout(f"{message.tool} did not answer within {timeout:g} s") from None
        except BROKEN:
            raise ToolUnavailable("the bus is not connected (reconnecting)") from None
        finally:
            del self._waiters[call_id]
        assert waiter.opened is not None
        return waiter.opened.outcome()

    async def _read_replies(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Deliver replies to their waiting callers; resubscribe with backoff after a broken connection."""
        assert self._redis is not None
        backoff = Backoff(self._config.reconnect_wait, self._config.reconnect_max_wait)
        started = False
        while True:
            pubsub: PubSub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._listening = True
                if not started:
                    started = True
                    task_status.started()
                backoff.reset()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._deliver(message["data"])
            except BROKEN as exc:
                if self._listening:
                    logger.warning("bus: lost the connection to %s (%s); reconnecting", self._where, type(exc).__name__)
                self._listening = False
            finally:
                with anyio.CancelScope(shield=True):
                    with suppress(*BROKEN):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
            await backoff.pause()

    @property
    def _where(self) -> str:
        return redacted(self._config.url)

    def _deliver(self, wire: bytes) -> None:
        assert self._envelopes is not None
        try:
            opened = self._envelopes.open_reply(wire)
        except UNREADABLE as exc:
            log_refused(self._channel, exc, len(wire))
            return
        waiter = self._waiters.get(opened.answers)
        if waiter is not None and waiter.opened is None:
            waiter.opened = opened
            waiter.done.set()

    # --- the host's side -----------------------------------------------------------------
    async def serve(
        self,
        address: str,
        handler: BusHandler,
        *,
        retry_safe: RetrySafe = never,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        self._client()
        size = self._config.max_in_flight
        # The pool never refuses: a call is read only once one of `size` slots is free.
        host = _Host(address, self.stream_of(address), self._hosts_of(address), handler, retry_safe,
                     slots(size), size, Pool(size, size))  # fmt: skip
        try:
            await self._ensure_group(host.stream)
            await self._beat_once(host)
        except BROKEN as exc:
            raise BusUnavailable(f"cannot serve {address} on {self._where} ({type(exc).__name__})") from None
        task_status.started()
        stop_beating = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._heartbeat, host, stop_beating)
            await tg.start(host.pool.run)
            try:
                async with anyio.create_task_group() as intake:
                    intake.start_soon(self._reap_loop, host)
                    await self._consume(host)
            finally:
                with anyio.CancelScope(shield=True):
                    await self._retire(host, stop_beating)

    async def _retire(self, host: _Host, stop_beating: anyio.Event) -> None:
        """Take no more calls (callers learn at once), finish those taken, then stop beating."""
        redis = self._redis
        host.accepting = False
        if redis is not None:
            with suppress(*BROKEN):
                await redis.zrem(host.hosts, self.id)
        for _ in range(host.slot_count):
            await host.slots.acquire()
        host.pool.close()
        stop_beating.set()
        if redis is not None:
            with suppress(*BROKEN):
                await redis.zrem(self._alive_key, self.id)

    async def _ensure_group(self, stream: str) -> None:
        assert self._redis is not None
        try:
            await self._redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _beat_once(self, host: _Host) -> None:
        ttl_ms = int(self._config.heartbeat * BEATS_TO_DEATH * 1000)
        bound = self._config.max_in_flight + self._config.max_queued
        keys = [self._alive_key, host.hosts, self._bound_of(host.address)]
        await self._beat(keys=keys, args=[self.id, ttl_ms, bound, "1" if host.accepting else "0"])

    async def _heartbeat(self, host: _Host, stop: anyio.Event) -> None:
        # Shielded: a host that is finishing its last calls after being told to stop is still alive.
        with anyio.CancelScope(shield=True):
            while not stop.is_set():
                with anyio.move_on_after(self._config.heartbeat):
                    await stop.wait()
                if stop.is_set():
                    return
                with suppress(*BROKEN):  # the consumer loop reports an outage
                    await self._beat_once(host)

    async def _consume(self, host: _Host) -> None:
        """Read one call per free slot; the slot goes with the call to `_handle`."""
        backoff = Backoff(self._config.reconnect_wait, self._config.reconnect_max_wait)
        healthy = True
        while True:
            await host.slots.acquire()
            try:
                entries = await self._read_one(host)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # The broker restarted without its data: the group and our beat are back at once.
                await self._recover(host)
                continue
            except BROKEN as exc:
                if healthy:
                    logger.warning("bus: lost the connection to %s (%s); reconnecting", self._where, type(exc).__name__)
                healthy = False
                await backoff.pause()
                continue
            if not healthy:
                logger.warning("bus: serving %s again on %s", host.address, self._where)
                healthy = True
            backoff.reset()
            for entry_id, wire in entries:  # at most one: one slot was taken for it
                self._hand_over(host, entry_id, wire, reclaimed=False)

    async def _read_one(self, host: _Host) -> list[tuple[bytes, bytes]]:
        """The next call for this host, or none within a heartbeat; gives its slot back unless
        it returns a call (also when the read fails or is cancelled)."""
        assert self._redis is not None
        block_ms = max(1, int(self._config.heartbeat * 1000))
        entries: list[tuple[bytes, bytes]] = []
        try:
            batches: Any = await self._redis.xreadgroup(GROUP, self.id, {host.stream: ">"}, count=1, block=block_ms)
            entries = [entry for _stream, items in batches or [] for entry in _entries(items)]
        finally:
            if not entries:
                host.slots.release()
        return entries

    async def _recover(self, host: _Host) -> None:
        try:
            await self._ensure_group(host.stream)
            await self._beat_once(host)
        except BROKEN:
            await anyio.sleep(self._config.reconnect_wait)

    def _hand_over(self, host: _Host, entry_id: bytes, wire: bytes, *, reclaimed: bool) -> None:
        """Give a call (and the slot taken for it) to the pool's workers."""
        if not host.pool.offer(functools.partial(self._handle, host, entry_id, wire, reclaimed)):
            host.slots.release()  # closed: the host is stopping; the call stays pending for another host

    async def _handle(self, host: _Host, entry_id: bytes, wire: bytes, reclaimed: bool) -> None:
        """Run one call and answer it (in a pool worker, holding one of the host's slots)."""
        assert self._envelopes is not None
        envelopes = self._envelopes
        try:
            try:
                opened = envelopes.open_call(host.address, wire, remember=not reclaimed)
            except UNREADABLE as exc:
                log_refused(host.address, exc, len(wire))
                await self._finish(host, entry_id, None, b"")
                return
            tool = opened.message.tool
            if reclaimed and not host.retry_safe(tool):
                stopped = ToolUnavailable(
                    f"the worker running {tool} stopped before it answered; {tool} is neither read-only "
                    "nor idempotent, so it was not run again (it may or may not have taken effect)"
                )
                reply = envelopes.seal_refusal(opened.id, stopped)
            else:
                outcome = await run_call(host.handler, opened)
                if isinstance(outcome, ToolTimeout):
                    reply = envelopes.seal_refusal(opened.id, outcome)
                else:
                    reply = envelopes.seal_reply(opened.id, outcome, tool)
            await self._finish(host, entry_id, opened.reply_to, reply)
        finally:
            host.slots.release()

    async def _finish(self, host: _Host, entry_id: bytes, reply_to: str | None, reply: bytes) -> None:
        """Publish the reply, acknowledge and delete the entry: one round trip, a few tries."""
        assert self._redis is not None
        backoff = Backoff(self._config.reconnect_wait, self._config.reconnect_max_wait)
        for _ in range(3):
            pipe = self._redis.pipeline(transaction=False)
            if reply_to is not None:
                pipe.publish(reply_to, reply)
            pipe.xack(host.stream, GROUP, entry_id)
            pipe.xdel(host.stream, entry_id)
            try:
                await pipe.execute()
                return
            except BROKEN:
                await backoff.pause()
        logger.warning("bus: could not answer a call of %s (the broker is unreachable)", host.address)

    # --- taking over the calls of dead hosts ------------------------------------------------
    async def _reap_loop(self, host: _Host) -> None:
        while True:
            await anyio.sleep(self._config.heartbeat)
            with suppress(*BROKEN):  # the consumer loop reports an outage
                await self._reap(host)

    async def _reap(self, host: _Host) -> None:
        assert self._redis is not None
        redis = self._redis
        alive = {_text(name) for name in await self._alive(keys=[self._alive_key])}
        for consumer in await redis.xinfo_consumers(host.stream, GROUP):
            name = _text(consumer["name"])
            if name == self.id or name in alive:
                continue
            if int(consumer["pending"]) == 0:
                await redis.xgroup_delconsumer(host.stream, GROUP, name)
                continue
            pending = await redis.xpending_range(host.stream, GROUP, min="-", max="+", count=host.slot_count,
                                                 consumername=name)  # fmt: skip
            ids: list[Any] = [item["message_id"] for item in pending]
            # min_idle_time: another host that took over the same call a moment ago made it fresh again.
            idle_ms = int(self._config.heartbeat * 1000)
            claimed: Any = await redis.xclaim(host.stream, GROUP, self.id, min_idle_time=idle_ms, message_ids=ids)
            for entry_id, wire in _entries(claimed):
                await host.slots.acquire()
                logger.warning("bus: taking over a call of %s left by the dead host %s", host.address, name)
                self._hand_over(host, entry_id, wire, reclaimed=True)

    async def queued(self, address: str) -> int:
        """Calls of `address` in the broker (waiting or being run): never above the bound."""
        redis, _ = self._client()
        return int(await redis.xlen(self.stream_of(address)))
