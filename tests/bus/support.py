"""Helpers of the bus tests: a key, requests, and connected remote buses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from mcp_gateway.bus.base import BusRequest
from mcp_gateway.bus.remote import RemoteBus
from mcp_gateway.bus.wiring import open_remote
from mcp_gateway.bus_config import BusConfig
from mcp_gateway.sdk import Principal
from tests.bus.brokers import Broker

KEY = b"bus-tests-key:0123456789abcdef0123456789"


def config_for(kind: str, request: pytest.FixtureRequest, **settings: object) -> BusConfig:
    """A config for the session's broker of `kind` (nats or redis), with a prefix of its own so
    that tests on the shared brokers never see each other's calls."""
    broker: Broker = request.getfixturevalue(f"{kind}_broker")
    return BusConfig.model_validate({"url": broker.url, "prefix": f"t{uuid.uuid4().hex[:12]}", **settings})


def call(tool: str = "a.echo", **arguments: object) -> BusRequest:
    return BusRequest(tool=tool, arguments=arguments, principal=Principal("p"), transport="test")


def remote(config: BusConfig, key: bytes = KEY, name: str = "test") -> RemoteBus:
    return open_remote(config, lambda: key, name=name)


@asynccontextmanager
async def connected_pair(config: BusConfig, key: bytes = KEY) -> AsyncIterator[tuple[RemoteBus, RemoteBus]]:
    async with remote(config, key, "caller").connected() as caller, remote(config, key, "host").connected() as host:
        yield caller, host
