"""The bus over NATS core request/reply (nats-py).

Each address is a subject, `<prefix>.call.<address>`; its hosts subscribe in one queue group,
so each call reaches exactly one host. Core NATS never redelivers: a call whose host dies is
not run again, whatever the tool, and its caller gets a timeout at its deadline. A call with
no host subscribed fails at once (NATS answers "no responders"). The client reconnects by
itself (forever, every `reconnect_wait`) and re-subscribes; while it is disconnected calls
fail at once as unavailable instead of queueing.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import anyio
import nats
import nats.errors
from anyio.abc import TaskStatus
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from mcp_gateway.bus.base import BusHandler, BusReply, BusRequest
from mcp_gateway.bus.envelope import UNREADABLE, Envelopes, OpenedCall, key_id, log_refused
from mcp_gateway.bus.pending import PendingCalls
from mcp_gateway.bus.remote import BusUnavailable, Pool, RetrySafe, envelopes_for, never, run_call, sealed_answer
from mcp_gateway.bus_config import BusConfig, redacted
from mcp_gateway.errors import ToolTimeout, ToolUnavailable

logger = logging.getLogger(__name__)

SUBSCRIPTION_BYTES_LIMIT = 64 * 1024 * 1024
OUTBOUND_BUFFER_BYTES = 8 * 1024 * 1024
"""Replies published while the connection is down wait here and leave on reconnection."""
STATUS_HEADER, NO_RESPONDERS = "Status", "503"
_DISCONNECTED = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionDrainingError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
)


class NatsBus:
    def __init__(self, config: BusConfig, key: Callable[[], bytes], *, name: str = "mcp-gateway") -> None:
        """`key` is called once, on connection (reading it may need the secret store)."""
        self._config, self._key, self._name = config, key, name
        self._nc: NatsClient | None = None
        self._envelopes: Envelopes | None = None
        self._inbox = ""
        self._quiet = False
        self._last_error: Exception | None = None
        self._pending: PendingCalls[bytes] = PendingCalls(config.max_in_flight)
        """A waiter's answer is the reply's bytes, or None when nothing serves the address."""
        self.pools: dict[str, Pool] = {}
        """Per served address, for whoever wants to see how full a host is."""

    def _subject(self, address: str) -> str:
        return f"{self._config.prefix}.call.{address}"

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[NatsBus]:
        config = self._config
        key = self._key()
        self._envelopes = envelopes_for(config, key)
        nc = NatsClient()
        self._quiet = True  # one line if the first connection fails, not one per attempt
        try:
            with anyio.fail_after(config.connect_timeout):
                await nc.connect(
                    servers=[config.url],
                    name=self._name,
                    connect_timeout=max(1, int(config.connect_timeout)),
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=config.reconnect_wait,  # type: ignore[arg-type]  # seconds, float works
                    pending_size=OUTBOUND_BUFFER_BYTES,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            with anyio.CancelScope(shield=True):
                await nc.close()
            why = type(self._last_error or exc).__name__
            where = f"{redacted(config.url)} within {config.connect_timeout:g} s"
            raise BusUnavailable(f"cannot reach the bus at {where} ({why})") from None
        finally:
            self._quiet = False
        self._nc = nc
        self._inbox = nc.new_inbox()
        await nc.subscribe(f"{self._inbox}.*", cb=self._on_reply)
        logger.info("bus: connected to %s (key id %s)", redacted(config.url), key_id(key))
        try:
            yield self
        finally:
            self._nc = None
            self._quiet = True  # our own close is no outage
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                with suppress(TimeoutError, nats.errors.Error):
                    await nc.flush(timeout=2)  # replies of the last calls leave before the socket closes
                await nc.close()

    # --- nats-py callbacks: one line each, never a traceback --------------------------------
    async def _on_error(self, exc: Exception) -> None:
        self._last_error = exc
        if self._quiet:
            return
        if isinstance(exc, nats.errors.SlowConsumerError):
            logger.warning("bus: a host fell behind and the client dropped a call for %s", exc.subject)
        else:
            logger.warning("bus: %s: %s", type(exc).__name__, exc)

    async def _on_disconnected(self) -> None:
        if self._quiet:
            return
        logger.warning("bus: disconnected from %s; reconnecting", redacted(self._config.url))

    async def _on_reconnected(self) -> None:
        logger.warning("bus: reconnected to %s", redacted(self._config.url))

    def _client(self) -> tuple[NatsClient, Envelopes]:
        if self._nc is None or self._envelopes is None:
            raise ToolUnavailable("the bus is not connected")
        return self._nc, self._envelopes

    # --- the caller's side ---------------------------------------------------------------
    async def request(self, address: str, message: BusRequest, timeout: float) -> BusReply:
        nc, envelopes = self._client()
        if not nc.is_connected:
            raise ToolUnavailable("the bus is not connected (reconnecting)")
        call_id, wire = envelopes.seal_call(address, message, timeout)
        if len(wire) > nc.max_payload:
            raise ToolUnavailable(f"the call of {message.tool} is too large for the bus ({len(wire)} bytes)")
        try:
            with (
                self._pending.waiting(call_id) as waiter,
                anyio.fail_after(timeout if math.isfinite(timeout) else None),
            ):
                async with self._pending.limiter(address):
                    await nc.publish(self._subject(address), wire, reply=f"{self._inbox}.{call_id}")
                    await waiter.done.wait()
        except TimeoutError:
            raise ToolTimeout(f"{message.tool} did not answer within {timeout:g} s") from None
        except _DISCONNECTED:
            raise ToolUnavailable("the bus is not connected (reconnecting)") from None
        if waiter.answer is None:
            raise ToolUnavailable(f"no worker serves {address!r}")
        try:
            return envelopes.open_reply(waiter.answer).outcome()
        except UNREADABLE as exc:
            log_refused(f"the reply for {address}", exc, len(waiter.answer))
            raise ToolUnavailable(f"an invalid reply came back for {message.tool}") from None

    async def _on_reply(self, msg: Msg) -> None:
        """Wake the caller a reply (or the server's "no responders") is for. One subscription
        for all replies, as nats-py's own `request` has, without its extra hop and timer."""
        nobody = bool(msg.headers and msg.headers.get(STATUS_HEADER) == NO_RESPONDERS)
        self._pending.answer(msg.subject.rpartition(".")[2], None if nobody else msg.data)

    # --- the host's side -----------------------------------------------------------------
    async def serve(
        self,
        address: str,
        handler: BusHandler,
        *,
        retry_safe: RetrySafe = never,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """`retry_safe` is unused: NATS never delivers a call twice."""
        nc, envelopes = self._client()
        config = self._config
        pool = Pool(config.max_in_flight, config.max_queued)

        async def take(msg: Msg) -> None:
            # Called by nats-py for each message, in order: check, hand to the pool or refuse.
            if not msg.reply:
                return
            try:
                opened = envelopes.open_call(address, msg.data)
            except UNREADABLE as exc:
                log_refused(address, exc, len(msg.data))
                return
            if not pool.offer(functools.partial(self._answer, msg.reply, opened, handler, envelopes)):
                busy = ToolUnavailable(f"{address} is busy: try again shortly")
                await self._publish(msg.reply, envelopes.seal_refusal(opened.id, busy))

        async with anyio.create_task_group() as tg:
            await tg.start(pool.run)
            try:
                # A callback, not the subscription's iterator, which costs a task and a wait per message.
                subscription = await nc.subscribe(
                    self._subject(address),
                    queue=f"{config.prefix}.hosts",
                    cb=take,
                    pending_msgs_limit=max(64, pool.bound),
                    pending_bytes_limit=SUBSCRIPTION_BYTES_LIMIT,
                )
                # The server has us once a PONG answers a PING sent after our SUB. nats-py writes
                # a flush's PING straight to the socket while the SUB may still wait in its queue
                # for the flusher task, so the first PONG can come before the SUB was even sent
                # (seen on a loaded machine: a caller got "no responders" right after serve
                # started); by then the flusher has written the SUB, so a second PING follows it.
                for _ in range(2):
                    await nc.flush(timeout=max(1, int(config.connect_timeout)))
                self.pools[address] = pool
                task_status.started()
                await anyio.sleep_forever()
            finally:
                self.pools.pop(address, None)
                with anyio.CancelScope(shield=True), suppress(nats.errors.Error, TimeoutError):
                    await subscription.unsubscribe()
                    await nc.flush(timeout=2)  # the server knows: callers get "no responders" at once
                pool.close()  # the workers finish what they took, then the task group ends

    async def _answer(self, reply_to: str, opened: OpenedCall, handler: BusHandler, env: Envelopes) -> None:
        await self._publish(reply_to, sealed_answer(env, opened, await run_call(handler, opened)))

    async def _publish(self, subject: str, wire: bytes) -> None:
        if self._nc is None:
            return
        try:
            await self._nc.publish(subject, wire)
        except (nats.errors.Error, OSError) as exc:
            logger.warning("bus: a reply could not be sent (%s)", type(exc).__name__)
