"""Signed envelopes: the only thing that crosses a broker between gateways and workers.

Wire format: `b"mgb1"` | HMAC-SHA256(key, body) (32 bytes) | body, where body is compact JSON.
The tag covers the exact bytes sent, so checking it needs no canonical re-serialisation, and
nothing is parsed before it checks out. A call names its id, the time it was sealed, the
caller's deadline and the address it is for; a host refuses an envelope that is oversized,
unsigned or badly signed, for another address, from the future, older than `max_age`, past
its deadline, or whose id it has seen before (ids are remembered while they could still be
accepted). A reply names the call it answers and is signed with the same key; the gateway
accepts it only for a call it is still waiting for.

HMAC gives integrity and origin (a gateway or a worker holding the key), not secrecy: use TLS
and the broker's own authentication when the broker is not on a trusted network.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import mcp.types as t
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_gateway.bus.base import BusReply, BusRequest
from mcp_gateway.errors import Refusal, ToolTimeout, ToolUnavailable
from mcp_gateway.pipeline import ToolResult
from mcp_gateway.sdk import Principal

MAGIC = b"mgb1"
TAG_BYTES = 32
KEY_BYTES = 32
MAX_REMEMBERED_IDS = 1_000_000
"""A bound on the replay memory: ids are remembered `max_age` seconds; past this many, calls are
refused (fail closed) rather than letting memory grow."""

logger = logging.getLogger(__name__)


class EnvelopeRefused(Exception):
    """An envelope that must not be acted on. `reason` is short and never quotes the payload."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Principal(_Strict):
    name: str
    roles: tuple[str, ...]
    domain: str


class _Call(_Strict):
    k: Literal["call"]
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    ts: float
    dl: float
    to: str
    reply_to: str | None
    tool: str
    args: dict[str, Any]
    principal: _Principal
    transport: str
    rid: str | None
    depth: int = Field(ge=0)
    trace: dict[str, str]


class _Result(_Strict):
    content: list[t.ContentBlock]
    structured: dict[str, Any] | None
    is_error: bool


class _Refusal(_Strict):
    code: Literal["unavailable", "timeout"]
    message: str


class _Reply(_Strict):
    k: Literal["reply"]
    re: str
    ts: float
    result: _Result | None = None
    refusal: _Refusal | None = None


@dataclass(frozen=True, slots=True)
class OpenedCall:
    id: str
    deadline: float
    """Wall-clock time (seconds since the epoch) after which the caller has given up."""
    reply_to: str | None
    message: BusRequest


@dataclass(frozen=True, slots=True)
class OpenedReply:
    answers: str
    """The id of the call this reply answers."""
    reply: BusReply | None
    refusal: Refusal | None

    def outcome(self) -> BusReply:
        """The reply, or the refusal the host sent instead, raised as itself."""
        if self.refusal is not None:
            raise self.refusal
        assert self.reply is not None
        return self.reply


def key_id(key: bytes) -> str:
    """A short fingerprint of the key, safe to log, so operators can tell that a gateway and a
    worker hold the same one."""
    return hashlib.sha256(b"mcp-gateway bus key id\0" + key).hexdigest()[:12]


class Envelopes:
    """Seals and opens envelopes with one key; remembers the ids of calls it has opened."""

    def __init__(
        self,
        key: bytes,
        *,
        max_bytes: int,
        max_age: float,
        clock_skew: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"the bus key must be at least {KEY_BYTES} bytes")
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        self.max_bytes = max_bytes
        self._max_age, self._skew, self._clock = max_age, clock_skew, clock
        self._seen: dict[str, float] = {}

    # --- sealing -------------------------------------------------------------------------
    def seal_call(
        self, address: str, message: BusRequest, timeout: float, reply_to: str | None = None
    ) -> tuple[str, bytes]:
        """`(call id, wire bytes)`; raises `ToolUnavailable` when the call is too large to send."""
        call_id = secrets.token_hex(16)
        now = self._clock()
        principal = message.principal
        body = {
            "k": "call", "id": call_id, "ts": now, "dl": now + min(timeout, 10 * 365 * 86400),
            "to": address, "reply_to": reply_to, "tool": message.tool, "args": dict(message.arguments),
            "principal": {"name": principal.name, "roles": list(principal.roles), "domain": principal.domain},
            "transport": message.transport, "rid": message.request_id, "depth": message.depth,
            "trace": dict(message.trace_context),
        }  # fmt: skip
        wire = self._seal(body)
        if len(wire) > self.max_bytes:
            raise ToolUnavailable(f"the call of {message.tool} is too large for the bus ({len(wire)} bytes)")
        return call_id, wire

    def seal_reply(self, answers: str, reply: BusReply, tool: str = "") -> bytes:
        """A reply too large for the bus becomes an error result saying so."""
        result = reply.result
        body: dict[str, Any] = {
            "k": "reply",
            "re": answers,
            "ts": self._clock(),
            "result": {
                "content": [
                    block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content
                ],
                "structured": result.structured,
                "is_error": result.is_error,
            },
        }
        wire = self._seal(body)
        if len(wire) <= self.max_bytes:
            return wire
        too_large = ToolResult.error(f"the result of {tool or 'the tool'} is too large for the bus ({len(wire)} bytes)")
        return self.seal_reply(answers, BusReply(too_large), tool)

    def seal_refusal(self, answers: str, refusal: ToolUnavailable | ToolTimeout) -> bytes:
        code = "timeout" if isinstance(refusal, ToolTimeout) else "unavailable"
        body = {"k": "reply", "re": answers, "ts": self._clock(), "refusal": {"code": code, "message": refusal.message}}
        return self._seal(body)

    def _seal(self, body: dict[str, Any]) -> bytes:
        data = orjson.dumps(body)
        return MAGIC + self._tag(data) + data

    def _tag(self, data: bytes) -> bytes:
        mac = self._mac.copy()  # the key's pads are computed once, not per envelope
        mac.update(data)
        return mac.digest()

    # --- opening -------------------------------------------------------------------------
    @property
    def remembered_for(self) -> float:
        """Seconds a call's id must be remembered: as long as the call could still be accepted."""
        return self._max_age + 2 * self._skew

    def open_call(self, address: str, wire: bytes, *, remember: bool = True) -> OpenedCall:
        """Check and decode a call for `address`. `remember=False` opens a call that the broker
        delivered once already (Redis: taken over from a dead host), so its id is no replay."""
        call = _Call.model_validate_json(self._verified(wire))
        if call.to != address:
            raise EnvelopeRefused(f"addressed to {call.to!r}")
        now = self._clock()
        self._check_age(call.ts, now)
        if now > call.dl + self._skew:
            raise EnvelopeRefused("past its deadline")
        if remember:
            self._remember(call.id, call.ts, now)
        principal = Principal(call.principal.name, call.principal.roles, call.principal.domain)
        message = BusRequest(
            tool=call.tool,
            arguments=call.args,
            principal=principal,
            transport=call.transport,
            request_id=call.rid,
            depth=call.depth,
            trace_context=call.trace,
        )
        return OpenedCall(call.id, call.dl, call.reply_to, message)

    def open_reply(self, wire: bytes) -> OpenedReply:
        reply = _Reply.model_validate_json(self._verified(wire))
        self._check_age(reply.ts, self._clock())
        if reply.refusal is not None:
            kind = ToolTimeout if reply.refusal.code == "timeout" else ToolUnavailable
            return OpenedReply(reply.re, None, kind(reply.refusal.message))
        if reply.result is None:
            raise EnvelopeRefused("a reply with neither a result nor a refusal")
        result = ToolResult(list(reply.result.content), reply.result.structured, reply.result.is_error)
        return OpenedReply(reply.re, BusReply(result), None)

    def _verified(self, wire: bytes) -> bytes:
        if len(wire) > self.max_bytes:
            raise EnvelopeRefused("oversized")
        if len(wire) < len(MAGIC) + TAG_BYTES or not wire.startswith(MAGIC):
            raise EnvelopeRefused("unsigned")
        tag, body = wire[len(MAGIC) : len(MAGIC) + TAG_BYTES], wire[len(MAGIC) + TAG_BYTES :]
        if not hmac.compare_digest(tag, self._tag(body)):
            raise EnvelopeRefused("bad signature")
        return body

    def _check_age(self, sealed_at: float, now: float) -> None:
        if sealed_at > now + self._skew:
            raise EnvelopeRefused("sealed in the future")
        if now - sealed_at > self._max_age + self._skew:
            raise EnvelopeRefused("too old")

    def _remember(self, call_id: str, sealed_at: float, now: float) -> None:
        seen = self._seen
        while seen:
            oldest = next(iter(seen))
            if seen[oldest] >= now:
                break
            del seen[oldest]
        if call_id in seen:
            raise EnvelopeRefused("replayed")
        if len(seen) >= MAX_REMEMBERED_IDS:
            raise EnvelopeRefused("too many calls to remember")
        seen[call_id] = sealed_at + self.remembered_for


UNREADABLE = (EnvelopeRefused, ValidationError)
"""What opening an envelope raises: a refusal, or a signed body that does not decode."""


def log_refused(where: str, exc: Exception, size: int) -> None:
    """Say why an envelope was refused, never what it carried."""
    reason = exc.reason if isinstance(exc, EnvelopeRefused) else "malformed"
    logger.warning("refused an envelope on %s: %s (%d bytes)", where, reason, size)
