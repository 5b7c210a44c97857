"""The bus that carries calls from the pipeline to the hosts of cells, and replies back.

`Bus` is the one protocol; `memory.MemoryBus` is the default (in-process, anyio streams).
NATS and Redis adapters implement the same protocol when distribution is switched on.
"""

from mcp_gateway.bus.base import Bus, BusHandler, BusReply, BusRequest

__all__ = ["Bus", "BusHandler", "BusReply", "BusRequest"]
