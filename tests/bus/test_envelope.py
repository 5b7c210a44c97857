"""Envelopes: what a host accepts, and everything it refuses."""

from __future__ import annotations

import hashlib
import hmac

import mcp.types as t
import pytest

from mcp_gateway.bus.base import BusReply
from mcp_gateway.bus.envelope import MAGIC, EnvelopeRefused, Envelopes
from mcp_gateway.errors import ToolTimeout, ToolUnavailable
from mcp_gateway.pipeline import ToolResult
from tests.bus.support import KEY, call

pytestmark = pytest.mark.req("R-041")


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def envelopes(clock: Clock | None = None, key: bytes = KEY, max_bytes: int = 65536) -> Envelopes:
    return Envelopes(key, max_bytes=max_bytes, max_age=30, clock_skew=5, clock=clock or Clock())


def refusal(action: object) -> str:
    with pytest.raises(EnvelopeRefused) as refused:
        action()  # type: ignore[operator]
    return refused.value.reason


def test_a_sealed_call_opens_once_for_its_address_only() -> None:
    sender, host = envelopes(), envelopes()
    call_id, wire = sender.seal_call("a", call(text="hi"), 10, reply_to="chan")
    opened = host.open_call("a", wire)
    assert opened.id == call_id and opened.reply_to == "chan" and opened.message == call(text="hi")
    assert refusal(lambda: host.open_call("a", wire)) == "replayed"
    assert refusal(lambda: envelopes().open_call("b", wire)) == "addressed to 'a'"
    # A call the broker delivers again (Redis, after its host died) is no replay.
    assert envelopes().open_call("a", wire, remember=False).id == call_id


def test_unsigned_badly_signed_tampered_and_oversized_envelopes_are_refused() -> None:
    _, wire = envelopes().seal_call("a", call(text="hi"), 10)
    host = envelopes()
    assert refusal(lambda: host.open_call("a", b'{"k": "call"}')) == "unsigned"
    assert refusal(lambda: host.open_call("a", b"")) == "unsigned"
    assert refusal(lambda: envelopes(key=b"x" * 32).open_call("a", wire)) == "bad signature"
    tampered = wire.replace(b'"hi"', b'"ho"')
    assert tampered != wire and refusal(lambda: host.open_call("a", tampered)) == "bad signature"
    body = b'{"k":"call"}'
    forged = MAGIC + hmac.digest(b"guess" * 8, body, hashlib.sha256) + body
    assert refusal(lambda: host.open_call("a", forged)) == "bad signature"
    assert refusal(lambda: envelopes(max_bytes=4096).open_call("a", wire + b" " * 5000)) == "oversized"
    with pytest.raises(ToolUnavailable, match="too large for the bus"):
        envelopes(max_bytes=4096).seal_call("a", call(text="x" * 5000), 10)


def test_old_future_and_expired_calls_are_refused() -> None:
    clock = Clock()
    _, wire = envelopes(clock).seal_call("a", call(), 60)
    clock.now += 36
    assert refusal(lambda: envelopes(clock).open_call("a", wire)) == "too old"
    clock.now -= 36 + 6
    assert refusal(lambda: envelopes(clock).open_call("a", wire)) == "sealed in the future"
    _, short = envelopes(Clock()).seal_call("a", call(), 1)
    later = Clock(Clock().now + 7)  # past its deadline and the clock skew
    assert refusal(lambda: envelopes(later).open_call("a", short)) == "past its deadline"


def test_ids_are_forgotten_only_after_they_could_no_longer_be_accepted() -> None:
    clock = Clock()
    host = envelopes(clock)
    _, wire = envelopes(clock).seal_call("a", call(), 60)
    host.open_call("a", wire)
    clock.now += 34
    assert refusal(lambda: host.open_call("a", wire)) == "replayed"
    clock.now += 2
    assert refusal(lambda: host.open_call("a", wire)) == "too old"


def test_replies_carry_every_kind_of_content_and_refusals() -> None:
    sender, caller = envelopes(), envelopes()
    content: list[t.ContentBlock] = [
        t.TextContent(type="text", text="x"),
        t.ImageContent(type="image", data="aGk=", mime_type="image/png"),
        t.AudioContent(type="audio", data="aGk=", mime_type="audio/wav"),
        t.ResourceLink(type="resource_link", uri="file:///r", name="r"),
        t.EmbeddedResource(type="resource", resource=t.BlobResourceContents(uri="file:///b", blob="aGk=")),
    ]
    reply = BusReply(ToolResult(content, {"a": [1]}, True))
    opened = caller.open_reply(sender.seal_reply("id1", reply))
    assert opened.answers == "id1" and opened.outcome() == reply
    busy = caller.open_reply(sender.seal_refusal("id2", ToolUnavailable("a is busy")))
    with pytest.raises(ToolUnavailable, match="a is busy"):
        busy.outcome()
    late = caller.open_reply(sender.seal_refusal("id3", ToolTimeout("late")))
    with pytest.raises(ToolTimeout):
        late.outcome()
    assert refusal(lambda: envelopes(key=b"y" * 32).open_reply(sender.seal_reply("id1", reply))) == "bad signature"


def test_a_result_too_large_for_the_bus_becomes_an_error_saying_so() -> None:
    sender = envelopes(max_bytes=4096)
    wire = sender.seal_reply("id", BusReply(ToolResult([t.TextContent(type="text", text="x" * 10_000)])), "a.big")
    result = sender.open_reply(wire).outcome().result
    assert result.is_error and "the result of a.big is too large for the bus" in result.text()


def test_keys_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        envelopes(key=b"short")
