"""The lean upstream session against a real peer process that misbehaves in the ways servers do."""

from __future__ import annotations

import sys
import textwrap

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from mcp_gateway.upstream_session import UpstreamSession

pytestmark = pytest.mark.anyio

# A peer that writes garbage, asks the client something, answers out of order, then dies.
PEER = textwrap.dedent(
    """
    import json, sys
    def send(message):
        sys.stdout.write(json.dumps(message) + "\\n"); sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        if "id" not in request or "method" not in request:  # notifications, and replies to its own request
            continue
        if request["method"] == "initialize":
            print("this is not json", flush=True)
            send({"jsonrpc": "2.0", "id": 999, "method": "roots/list"})
            send({"jsonrpc": "2.0", "id": request["id"], "result": {"protocolVersion": "2025-11-25"}})
        elif request["method"] == "tools/list":
            send({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32602, "message": "nope"}})
        elif request["method"] == "tools/call" and request["params"]["name"] == "slow":
            pass  # never answers
        else:
            sys.exit(0)
    """
)


async def test_garbage_server_requests_errors_timeouts_and_death() -> None:
    process = await anyio.open_process([sys.executable, "-I", "-c", PEER])
    async with process, anyio.create_task_group() as tg:
        session = UpstreamSession(process, timeout=1.0, name="peer")
        await tg.start(session.run)
        await session.initialize()  # despite a non-JSON line and a request from the server
        with pytest.raises(MCPError, match="nope"):
            await session.list_tools()
        with pytest.raises(MCPError, match="timed out"):
            await session.call_tool("slow", {})
        with pytest.raises(MCPError, match="Connection closed"):
            await session.call_tool("die", {})
        with pytest.raises(MCPError, match="Connection closed"):
            await session.call_tool("again", {})
        tg.cancel_scope.cancel()
