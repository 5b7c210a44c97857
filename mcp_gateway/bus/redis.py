"""The bus over Redis (redis-py): a stream per address read by a consumer group, replies on
each caller's own channel.

Calls: a caller adds the signed envelope to `<prefix>:calls:<address>` with a script that
first checks, in the same step, that a live host serves the address (else: unavailable at
once) and that the stream holds fewer than `max_in_flight + max_queued` calls (else: busy),
then waits on its own channel (`<prefix>:replies:<bus id>`, named in the signed envelope) for
the reply. Hosts are redis_host.py; keys and scripts redis_keys.py. Connections that break are
retried with backoff.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import anyio
from anyio.abc import TaskStatus
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from mcp_gateway.bus.base import BusHandler, BusReply, BusRequest
from mcp_gateway.bus.envelope import UNREADABLE, Envelopes, OpenedReply, key_id, log_refused
from mcp_gateway.bus.pending import PendingCalls
from mcp_gateway.bus.redis_host import BROKEN, RedisHosting
from mcp_gateway.bus.redis_keys import SUBMIT, RedisKeys
from mcp_gateway.bus.remote import Backoff, BusUnavailable, RetrySafe, envelopes_for, never
from mcp_gateway.bus_config import BusConfig, redacted
from mcp_gateway.errors import ToolTimeout, ToolUnavailable

logger = logging.getLogger(__name__)

SOCKET_TIMEOUT = 15.0
"""Longer than any blocking read (one heartbeat), so only a dead connection times out."""


class RedisBus:
    def __init__(self, config: BusConfig, key: Callable[[], bytes], *, name: str = "mcp-gateway") -> None:
        """`key` is called once, on connection (reading it may need the secret store)."""
        self._config, self._key, self._name = config, key, name
        self.id = f"{name}-{secrets.token_hex(8)}"
        """This bus's consumer name and reply channel: unique per process and connection."""
        self._keys = RedisKeys(config.prefix)
        self._channel = self._keys.replies(self.id)
        self._redis: Redis | None = None
        self._envelopes: Envelopes | None = None
        self._hosting: RedisHosting | None = None
        self._listening = False
        self._pending: PendingCalls[OpenedReply] = PendingCalls(config.max_in_flight)

    def _client(self) -> tuple[Redis, Envelopes]:
        if self._redis is None or self._envelopes is None:
            raise ToolUnavailable("the bus is not connected")
        return self._redis, self._envelopes

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[RedisBus]:
        config = self._config
        key = self._key()
        self._envelopes = envelopes_for(config, key)
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
        self._submit = redis.register_script(SUBMIT)
        self._hosting = RedisHosting(redis, self._envelopes, config, self.id, self._where)
        logger.info("bus: connected to %s (key id %s)", redacted(config.url), key_id(key))
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(self._read_replies)
                try:
                    yield self
                finally:
                    tg.cancel_scope.cancel()
        finally:
            self._hosting.close()
            self._redis = self._hosting = None
            self._listening = False
            with anyio.CancelScope(shield=True):
                await redis.aclose()

    # --- the caller's side ---------------------------------------------------------------
    async def request(self, address: str, message: BusRequest, timeout: float) -> BusReply:
        redis, envelopes = self._client()
        if not self._listening:
            raise ToolUnavailable("the bus is not connected (reconnecting)")
        call_id, wire = envelopes.seal_call(address, message, timeout, reply_to=self._channel)
        bound = self._config.max_in_flight + self._config.max_queued
        within = timeout if math.isfinite(timeout) else None
        try:
            with self._pending.waiting(call_id) as waiter, anyio.fail_after(within):
                async with self._pending.limiter(address):
                    keys = [self._keys.stream(address), self._keys.hosts(address), self._keys.bound(address)]
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
        assert waiter.answer is not None
        return waiter.answer.outcome()

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
        self._pending.answer(opened.answers, opened)

    # --- the host's side (redis_host.py) -------------------------------------------------------
    async def serve(
        self,
        address: str,
        handler: BusHandler,
        *,
        retry_safe: RetrySafe = never,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        self._client()
        assert self._hosting is not None
        await self._hosting.serve(address, handler, retry_safe=retry_safe, task_status=task_status)

    async def queued(self, address: str) -> int:
        """Calls of `address` in the broker (waiting or being run): never above the bound."""
        redis, _ = self._client()
        return int(await redis.xlen(self._keys.stream(address)))
