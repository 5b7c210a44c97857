"""The `gateway` cell: what the gateway can tell a caller about itself."""

from cells.gateway.cell import GatewayCell

__all__ = ["GatewayCell"]
