"""The one error of the policy engine: a policy that cannot be loaded, and where it went wrong."""

from __future__ import annotations

from mcp_gateway.errors import GatewayError


class PolicyError(GatewayError):
    """The policy files are unusable: unreadable, malformed, a bad pattern, or a failing policy test.

    `file` and `line` (1-based, 0 when not tied to a line) say where, so an admin knows what to fix;
    the last good policy stays in force whenever this is raised during a reload.
    """

    def __init__(self, message: str, *, file: str = "", line: int = 0) -> None:
        self.message, self.file, self.line = message, file, line
        where = f"{file}:{line}" if file and line else file
        super().__init__(f"{where}: {message}" if where else message)
