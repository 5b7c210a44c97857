"""Brokers shared by the bus tests (one nats-server and one redis-server for the session), and
`pair`: a caller's bus and a host's bus on memory, NATS and Redis alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from mcp_gateway.bus.base import Bus
from mcp_gateway.bus.memory import MemoryBus
from mcp_gateway.bus_config import BusConfig
from tests.bus.brokers import Broker, running_broker
from tests.bus.support import KEY, config_for, connected_pair


@pytest.fixture(scope="session")
def nats_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running_broker("nats", tmp_path_factory.mktemp("nats")) as broker:
        yield broker


@pytest.fixture(scope="session")
def redis_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running_broker("redis", tmp_path_factory.mktemp("redis")) as broker:
        yield broker


@pytest.fixture(params=["memory", "nats", "redis"])
def bus_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(params=["nats", "redis"])
def remote_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def bus_config(bus_kind: str, request: pytest.FixtureRequest) -> BusConfig:
    return BusConfig() if bus_kind == "memory" else config_for(bus_kind, request)


@pytest.fixture
def remote_config(remote_kind: str, request: pytest.FixtureRequest) -> BusConfig:
    return config_for(remote_kind, request)


@pytest.fixture
async def pair(bus_config: BusConfig) -> AsyncIterator[tuple[Bus, Bus]]:
    """(caller, host): two connections to one broker, or one memory bus playing both parts."""
    if not bus_config.remote:
        bus = MemoryBus(max_in_flight=bus_config.max_in_flight)
        yield bus, bus
        return
    async with connected_pair(bus_config, KEY) as (caller, host):
        yield caller, host
