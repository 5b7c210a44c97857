"""A lean MCP client session over an upstream server's stdin and stdout.

The gateway already is an MCP server to its caller; talking to an upstream through a second
full SDK client session doubled a proxied call's latency. This speaks the stdio transport
directly — one JSON-RPC message per line, the 2025-11-25 handshake (which every stdio server
answers), requests matched to replies by id — and leaves message types to `mcp.types`.
A request that outlives the timeout raises `MCPError(REQUEST_TIMEOUT)`; a server that went away
raises `MCPError(CONNECTION_CLOSED)`; requests from the server are answered "method not found".
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from typing import Any, Final

import anyio
import mcp.types as t
from anyio.abc import Process, TaskStatus
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp.shared.exceptions import MCPError

from mcp_gateway import __version__

PROTOCOL_VERSION: Final = "2025-11-25"
MAX_LINE: Final = 64 << 20
logger = logging.getLogger(__name__)


STARTUP_TIMEOUT = 30.0
"""Seconds an upstream may take to answer `initialize` and `tools/list` when it starts."""


_GONE = (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError, anyio.ClosedResourceError)
"""How a stream of a server that went away ends."""


class UpstreamSession:
    def __init__(self, process: Process, timeout: float, name: str) -> None:
        self._process, self._timeout, self._name = process, timeout, name
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[anyio.Event, list[dict[str, Any]]]] = {}
        self._closed = False
        self._write_lock = anyio.Lock()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Read the server's messages until it closes its stdout (run it in a task group)."""
        assert self._process.stdout is not None  # open_process pipes stdout by default
        reader = BufferedByteReceiveStream(self._process.stdout)
        task_status.started()
        try:
            with contextlib.suppress(*_GONE):  # the server closed its end: every waiter is told below
                while True:
                    line = await reader.receive_until(b"\n", MAX_LINE)
                    if line.strip():
                        await self._dispatch(line)
        finally:
            self._closed = True
            for event, _ in self._waiting.values():
                event.set()

    async def drain_stderr(self) -> None:
        if self._process.stderr is None:
            return
        with contextlib.suppress(*_GONE):  # the server exited, or was killed (a hang) while we read
            async for chunk in self._process.stderr:
                logger.debug("upstream %s stderr: %s", self._name, chunk[:2000].decode(errors="replace").rstrip())

    async def _dispatch(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            logger.warning("upstream %s sent a line that is not JSON; ignored", self._name)
            return
        if not isinstance(message, dict):
            return
        if "method" in message:
            if "id" in message:  # a request from the server: this client offers no capabilities
                error = {"code": t.METHOD_NOT_FOUND, "message": "not supported by the gateway"}
                await self._send({"jsonrpc": "2.0", "id": message["id"], "error": error})
            return
        waiting = self._waiting.get(message.get("id"))  # type: ignore[arg-type]
        if waiting is not None:
            waiting[1].append(message)
            waiting[0].set()

    async def _send(self, message: dict[str, Any]) -> None:
        stdin = self._process.stdin
        if stdin is None or self._closed:
            raise MCPError(t.CONNECTION_CLOSED, "Connection closed")
        async with self._write_lock:
            try:
                await stdin.send(json.dumps(message, separators=(",", ":")).encode() + b"\n")
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                raise MCPError(t.CONNECTION_CLOSED, "Connection closed") from None

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        request_id = next(self._ids)
        event: anyio.Event = anyio.Event()
        box: list[dict[str, Any]] = []
        self._waiting[request_id] = (event, box)
        try:
            message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
            if params is not None:
                message["params"] = params
            await self._send(message)
            with anyio.move_on_after(self._timeout if timeout is None else timeout):
                await event.wait()
        finally:
            del self._waiting[request_id]
        if not box:
            if self._closed:
                raise MCPError(t.CONNECTION_CLOSED, "Connection closed")
            raise MCPError(t.REQUEST_TIMEOUT, f"Request {method!r} timed out")
        reply = box[0]
        if "error" in reply:
            error = reply["error"] if isinstance(reply["error"], dict) else {}
            raise MCPError(int(error.get("code", t.INTERNAL_ERROR)), str(error.get("message", "error")))
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    async def initialize(self) -> None:
        client = {"name": "mcp-gateway", "version": __version__}
        # Starting (an interpreter in a fresh jail on a busy host) may take longer than a call may.
        params = {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": client}
        await self.request("initialize", params, timeout=max(self._timeout, STARTUP_TIMEOUT))
        await self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def list_tools(self) -> list[t.Tool]:
        tools: list[t.Tool] = []
        cursor: str | None = None
        for _ in range(100):  # a bound on pages: a server that pages forever is not served
            page = t.ListToolsResult.model_validate(
                await self.request(
                    "tools/list", {"cursor": cursor} if cursor else {}, timeout=max(self._timeout, STARTUP_TIMEOUT)
                )
            )
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> t.CallToolResult:
        return t.CallToolResult.model_validate(await self.request("tools/call", {"name": name, "arguments": arguments}))
