"""The bus as gateway.toml configures it: the one place gateways and workers learn which bus
they are on and which key signs its envelopes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING

from mcp_gateway.bus.base import Bus
from mcp_gateway.bus.memory import MemoryBus
from mcp_gateway.bus.nats import NatsBus
from mcp_gateway.bus.redis import RedisBus
from mcp_gateway.bus.remote import RemoteBus
from mcp_gateway.bus.routed import RoutedBus
from mcp_gateway.bus_config import BusConfig
from mcp_gateway.errors import ConfigError
from mcp_gateway.secrets.errors import SecretStoreError
from mcp_gateway.secrets.wiring import open_store

if TYPE_CHECKING:
    from mcp_gateway.config import Config

KEY_PURPOSE = "bus-envelope"
MIN_SHARED_SECRET_CHARS = 32


def bus_key(config: Config) -> bytes:
    """The envelope key: derived from the secret store's root key (processes sharing the state
    dir, or its master key and `_root` entry, agree on it), or from the secret named by
    `[bus] key_secret` (processes on other machines, each holding the same value)."""
    store = open_store(config)
    name = config.bus.key_secret
    try:
        if name is None:
            return store.derive_key(KEY_PURPOSE)
        value = store.get(name)
    except SecretStoreError as exc:
        raise ConfigError(config.source, "bus.key_secret" if name else "bus", f"no bus key: {exc}") from None
    if len(value) < MIN_SHARED_SECRET_CHARS:
        raise ConfigError(config.source, "bus.key_secret", f"secret {name!r} is shorter than 32 characters")
    return hmac.digest(b"mcp-gateway " + KEY_PURPOSE.encode(), value.encode(), hashlib.sha256)


def open_remote(config: BusConfig, key: Callable[[], bytes], *, name: str) -> RemoteBus:
    """The broker adapter for `config.url`; `key` is read once, when it connects."""
    if config.kind == "nats":
        return NatsBus(config, key, name=name)
    return RedisBus(config, key, name=name)


def gateway_bus(config: Config) -> Bus:
    """A memory bus, or (with a broker configured) local cells in memory and the rest remote."""
    remote = [index for index, cell in enumerate(config.cells) if cell.enabled and cell.remote]
    if not config.bus.remote:
        if remote:
            message = "a remote cell needs a broker: set [bus] url to nats://... or redis://..."
            raise ConfigError(config.source, f"cells[{remote[0]}].remote", message)
        return MemoryBus()
    return RoutedBus(open_remote(config.bus, lambda: bus_key(config), name="gateway"))
