"""The Redis bus's keys and the scripts that read and change several of them in one step."""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "hosts"
"""The consumer group every host of an address reads its stream in."""
FIELD = b"e"
"""The stream entry's one field: the signed envelope."""

SUBMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZCOUNT', KEYS[2], now, '+inf') == 0 then return 0 end
local bound = tonumber(redis.call('GET', KEYS[3]) or ARGV[2])
if redis.call('XLEN', KEYS[1]) >= bound then return -1 end
redis.call('XADD', KEYS[1], '*', 'e', ARGV[1])
return 1
"""
"""Add a call unless no live host serves its address (0) or its stream is full (-1)."""

BEAT = """
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
"""A host's heartbeat: alive (and, while it takes calls, a host of the address) until the TTL."""

ALIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
"""
"""The names of the hosts whose heartbeat has not expired (by the broker's clock)."""


@dataclass(frozen=True)
class RedisKeys:
    prefix: str

    @property
    def alive(self) -> str:
        return f"{self.prefix}:alive"

    def stream(self, address: str) -> str:
        return f"{self.prefix}:calls:{address}"

    def hosts(self, address: str) -> str:
        return f"{self.prefix}:hosts:{address}"

    def bound(self, address: str) -> str:
        """The hosts' bound on the calls of `address` in the broker (`max_in_flight + max_queued`)."""
        return f"{self.prefix}:bound:{address}"

    def seen(self, call_id: str) -> str:
        """Claimed by the first host to open the call: a replay on another host finds it taken."""
        return f"{self.prefix}:seen:{call_id}"

    def replies(self, bus_id: str) -> str:
        return f"{self.prefix}:replies:{bus_id}"
