"""`[bus]`: which bus carries calls to the hosts of cells, and the limits of a remote one.

`url = "memory"` (the default) keeps every cell in the gateway's process. `nats://HOST:PORT`
or `redis://HOST:PORT/DB` (`tls://`, `rediss://` for TLS) switches distribution on: cells
marked `[[cells]] remote = true` are then hosted by `mcp-gateway worker` processes that share
the broker (adr/0014-bus-adapters-and-workers.md).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

MEMORY = "memory"
NATS_SCHEMES = frozenset({"nats", "tls"})
REDIS_SCHEMES = frozenset({"redis", "rediss"})


class BusConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = MEMORY
    """`memory`, `nats://127.0.0.1:4222` or `redis://127.0.0.1:6379/0`; credentials may be in
    the URL (they never reach a log)."""
    prefix: str = Field(default="mcp-gateway", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    """Prefix of every NATS subject and Redis key, so several deployments can share a broker."""
    key_secret: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    """The name of a secret (at least 32 characters) that holds the envelope key shared by
    gateways and workers on other machines; by default the key is derived from this state
    dir's secret store, which only processes sharing the state dir (or its master key and root
    entry) agree on."""
    connect_timeout: float = Field(default=5.0, gt=0, le=120)
    callback_timeout: float = Field(default=30.0, gt=0, le=3600)
    """How long a cell hosted by a worker waits for a tool it calls through a gateway."""
    max_envelope_bytes: int = Field(default=4 * 1024 * 1024, ge=4096, le=256 * 1024 * 1024)
    """Larger calls or results are refused before they reach the broker (NATS also applies its
    own `max_payload`, 1 MiB unless the server raises it)."""
    max_age: float = Field(default=30.0, ge=1, le=3600)
    """An envelope older than this is refused; ids are remembered this long to refuse replays."""
    clock_skew: float = Field(default=5.0, ge=0, le=300)
    """Tolerated difference between the clocks of gateways and workers."""
    max_in_flight: int = Field(default=64, ge=1, le=100_000)
    """Calls one host runs at once (per address); a gateway's outstanding remote calls are
    bounded by the same number per address."""
    max_queued: int = Field(default=256, ge=0, le=1_000_000)
    """Calls that may wait beyond `max_in_flight`: in each host's memory on NATS; on Redis in the
    broker, whose stream of an address holds at most `max_in_flight + max_queued` calls (waiting
    or being run, the hosts' setting). Past it a call is refused at once as busy."""
    reconnect_wait: float = Field(default=0.5, gt=0, le=60)
    """Pause between reconnection attempts after the broker went away (Redis doubles it up to
    `reconnect_max_wait`)."""
    reconnect_max_wait: float = Field(default=5.0, gt=0, le=300)
    heartbeat: float = Field(default=1.0, gt=0, le=60)
    """Redis: how often a host says it is alive; one silent for three beats is dead, and its
    unfinished calls are answered by another host (adr/0014)."""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value == MEMORY:
            return value
        scheme = urlsplit(value).scheme
        if scheme not in NATS_SCHEMES | REDIS_SCHEMES:
            raise ValueError("the bus is `memory`, nats://HOST:PORT, tls://..., redis://HOST:PORT/DB or rediss://...")
        if not urlsplit(value).hostname:
            raise ValueError("the bus URL names no host")
        return value

    @property
    def remote(self) -> bool:
        return self.url != MEMORY

    @property
    def kind(self) -> str:
        """`memory`, `nats` or `redis`."""
        scheme = urlsplit(self.url).scheme
        return MEMORY if not self.remote else ("nats" if scheme in NATS_SCHEMES else "redis")


def redacted(url: str) -> str:
    """`url` without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
