"""The host's side of the Redis bus: read calls from an address's stream, run them, answer.

A host reads with XREADGROUP, one call per free slot, so a slow host leaves calls in the broker
instead of its memory. When a call is answered the host publishes the reply to the caller's
channel (named in the signed envelope) and acknowledges and deletes the entry, in one round trip.

A host that dies leaves the calls it had read pending under its name. Every host beats (its
name in `alive`, and in the address's `hosts` while it takes calls); one silent for three beats
is dead, and a live host takes over its pending calls: a read-only or idempotent tool runs
again, any other tool does not (it may have run): its caller gets an error saying so. A
restarted broker that lost its data gets its consumer groups back from the hosts' next read.

Replays: besides each host's own memory of the ids it opened (envelope.py), the first host to
open a call claims its id in the broker (`SET NX` for as long as the envelope is valid), so an
envelope added to the stream again is refused by every host, not only the one that ran it.
"""

from __future__ import annotations

import functools
import logging
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskStatus
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, ResponseError

from mcp_gateway.bus.base import BusHandler
from mcp_gateway.bus.envelope import UNREADABLE, EnvelopeRefused, Envelopes, log_refused
from mcp_gateway.bus.redis_keys import ALIVE, BEAT, FIELD, GROUP, RedisKeys
from mcp_gateway.bus.remote import Backoff, BusUnavailable, Pool, RetrySafe, never, run_call, sealed_answer, slots
from mcp_gateway.bus_config import BusConfig
from mcp_gateway.errors import ToolUnavailable

logger = logging.getLogger(__name__)

BEATS_TO_DEATH = 3
BROKEN = (RedisError, OSError)


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


def entries(items: Any) -> list[tuple[bytes, bytes]]:
    """`(entry id, envelope)` of stream entries as redis-py returns them (XCLAIM, or one
    stream's part of XREADGROUP); an entry deleted meanwhile has no fields and is skipped."""
    found = []
    for entry_id, fields in items or []:
        if fields:
            found.append((entry_id, fields.get(FIELD, b"")))
    return found


class RedisHosting:
    """The addresses one connected `RedisBus` serves, under its consumer name `bus_id`."""

    def __init__(self, redis: Redis, envelopes: Envelopes, config: BusConfig, bus_id: str, where: str) -> None:
        self._redis, self._envelopes, self._config = redis, envelopes, config
        self.id, self._where = bus_id, where
        self._keys = RedisKeys(config.prefix)
        self._beat: AsyncScript = redis.register_script(BEAT)
        self._alive: AsyncScript = redis.register_script(ALIVE)
        self._closed = False

    def close(self) -> None:
        """The connection is closing: a host that retires now leaves the broker alone."""
        self._closed = True

    async def serve(
        self,
        address: str,
        handler: BusHandler,
        *,
        retry_safe: RetrySafe = never,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        size = self._config.max_in_flight
        # The pool never refuses: a call is read only once one of `size` slots is free.
        host = _Host(address, self._keys.stream(address), self._keys.hosts(address), handler, retry_safe,
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
        redis = None if self._closed else self._redis
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
                await redis.zrem(self._keys.alive, self.id)

    async def _ensure_group(self, stream: str) -> None:
        try:
            await self._redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _beat_once(self, host: _Host) -> None:
        ttl_ms = int(self._config.heartbeat * BEATS_TO_DEATH * 1000)
        bound = self._config.max_in_flight + self._config.max_queued
        keys = [self._keys.alive, host.hosts, self._keys.bound(host.address)]
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
        block_ms = max(1, int(self._config.heartbeat * 1000))
        found: list[tuple[bytes, bytes]] = []
        try:
            batches: Any = await self._redis.xreadgroup(GROUP, self.id, {host.stream: ">"}, count=1, block=block_ms)
            found = [entry for _stream, items in batches or [] for entry in entries(items)]
        finally:
            if not found:
                host.slots.release()
        return found

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
        envelopes = self._envelopes
        try:
            try:
                opened = envelopes.open_call(host.address, wire, remember=not reclaimed)
            except UNREADABLE as exc:
                log_refused(host.address, exc, len(wire))
                await self._finish(host, entry_id, None, b"")
                return
            first = True if reclaimed else await self._first_to_open(opened.id)
            if first is False:
                log_refused(host.address, EnvelopeRefused("replayed (opened by another host)"), len(wire))
                await self._finish(host, entry_id, None, b"")
                return
            tool = opened.message.tool
            if first is None:
                unrecorded = ToolUnavailable(f"{tool} was not run: the bus could not record it; try again")
                reply = envelopes.seal_refusal(opened.id, unrecorded)
            elif reclaimed and not host.retry_safe(tool):
                stopped = ToolUnavailable(
                    f"the worker running {tool} stopped before it answered; {tool} is neither read-only "
                    "nor idempotent, so it was not run again (it may or may not have taken effect)"
                )
                reply = envelopes.seal_refusal(opened.id, stopped)
            else:
                reply = sealed_answer(envelopes, opened, await run_call(host.handler, opened))
            await self._finish(host, entry_id, opened.reply_to, reply)
        finally:
            host.slots.release()

    async def _first_to_open(self, call_id: str) -> bool | None:
        """Claim the call's id in the broker for as long as the envelope could be accepted, so
        that a replay reaching another host (whose own memory never saw the id) is refused too.
        None when the broker cannot be asked: the call is then not run (fail closed)."""
        ttl_ms = max(1, int(self._envelopes.remembered_for * 1000))
        try:
            return bool(await self._redis.set(self._keys.seen(call_id), b"1", nx=True, px=ttl_ms))
        except BROKEN:
            return None

    async def _finish(self, host: _Host, entry_id: bytes, reply_to: str | None, reply: bytes) -> None:
        """Publish the reply, acknowledge and delete the entry: one round trip, a few tries."""
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
        redis = self._redis
        alive = {_text(name) for name in await self._alive(keys=[self._keys.alive])}
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
            for entry_id, wire in entries(claimed):
                await host.slots.acquire()
                logger.warning("bus: taking over a call of %s left by the dead host %s", host.address, name)
                self._hand_over(host, entry_id, wire, reclaimed=True)
