"""Identity errors. `IdentityError` belongs in the tree of `mcp_gateway.errors`; it lives here
until that module adopts it."""

from __future__ import annotations

from mcp_gateway.errors import GatewayError


class IdentityError(GatewayError):
    """The identity machinery cannot work: an unreadable or corrupt token store, an unusable JWKS
    file. Never raised for a merely bad credential, which is refused with `None` instead."""
