"""stdio: newline-delimited JSON-RPC over the process's stdin and stdout.

Written beside the SDK's `stdio_server` rather than on top of it (ADR 0002) for two reasons a
gateway cannot give up: a line longer than the configured cap is refused without ever being
held in memory whole, and a line that is not a JSON-RPC message gets a JSON-RPC error reply
(-32700 / -32600) instead of being dropped silently, which leaves the client waiting forever.

While serving, fd 0 is the null device and fd 1 is stderr, so a stray `print` or a child
process can never corrupt the wire. A wire that is a pipe or a socket (what an MCP client
gives) is read and written on the event loop (pipe_io.py); anything else through a thread.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, Any, Protocol

import anyio
import anyio.to_thread
import mcp.types as t
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from mcp_gateway.transports.pipe_io import PipeLines, loop_can_serve, nonblocking, write_all

_DISCARD_CHUNK = 64 * 1024
# Best effort only: the id of a request too large (or too broken) to parse, so the client can
# match the error to its request instead of timing out. Looked for in the line's first bytes.
_ID_PREFIX = re.compile(rb'^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d{1,18}|"[^"\\]{0,200}")')

ReadStream = MemoryObjectReceiveStream[SessionMessage | Exception]
WriteStream = MemoryObjectSendStream[SessionMessage]


def _error(request_id: t.RequestId | None, code: int, message: str) -> SessionMessage:
    error = t.JSONRPCError(jsonrpc="2.0", id=request_id, error=t.ErrorData(code=code, message=message))
    return SessionMessage(error)


def _id_from_prefix(line: bytes) -> t.RequestId | None:
    match = _ID_PREFIX.match(line[:1024])
    if match is None:
        return None
    raw = match.group(1).decode()
    return raw[1:-1] if raw.startswith('"') else int(raw)


def _id_from_json(line: bytes) -> t.RequestId | None:
    try:
        data: Any = json.loads(line)
    except ValueError:
        return _id_from_prefix(line)
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


def read_line(stream: IO[bytes], cap: int) -> tuple[bytes, bool]:
    """One line of at most `cap` bytes, and whether it was longer (its tail is discarded)."""
    line = stream.readline(cap + 1)
    if len(line) <= cap or line.endswith(b"\n"):
        return line, False
    while True:
        tail = stream.readline(_DISCARD_CHUNK)
        if not tail or tail.endswith(b"\n"):
            return line, True


def parse_line(line: bytes, cap: int, oversized: bool) -> tuple[SessionMessage | None, SessionMessage | None]:
    """(the message to serve, None), or (None, the error reply to send back)."""
    if oversized:
        return None, _error(_id_from_prefix(line), t.INVALID_REQUEST, f"message exceeds the {cap}-byte limit")
    try:
        return SessionMessage(t.jsonrpc_message_adapter.validate_json(line, by_name=False)), None
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            return None, _error(_id_from_prefix(line), t.PARSE_ERROR, "parse error: not valid JSON")
        return None, _error(_id_from_json(line), t.INVALID_REQUEST, "invalid request: not a JSON-RPC 2.0 message")


@asynccontextmanager
async def stdio_transport(
    max_message_bytes: int, stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None
) -> AsyncIterator[tuple[ReadStream, WriteStream]]:
    """(read, write) streams for `Server.run`. Without explicit streams, takes over fds 0 and 1;
    when they are pipes or sockets they are read and written on the event loop (pipe_io.py)."""
    if stdin is not None and stdout is not None:
        async with _serving(_ThreadWire(stdin, stdout, max_message_bytes), max_message_bytes) as streams:
            yield streams
        return
    wire_in, wire_out, restore = _claim_std_fds()
    try:
        if loop_can_serve(wire_in, wire_out):
            with nonblocking(wire_in, wire_out):
                async with _serving(_LoopWire(wire_in, wire_out, max_message_bytes), max_message_bytes) as streams:
                    yield streams
        else:
            with (
                os.fdopen(wire_in, "rb", closefd=False) as reading,
                os.fdopen(wire_out, "wb", closefd=False) as writing,
            ):
                async with _serving(_ThreadWire(reading, writing, max_message_bytes), max_message_bytes) as streams:
                    yield streams
    finally:
        os.close(wire_in)
        os.close(wire_out)
        for fd, saved in restore:
            os.dup2(saved, fd)
            os.close(saved)


class _Wire(Protocol):
    async def read_line(self) -> tuple[bytes, bool]: ...

    async def write(self, data: bytes) -> None: ...


class _ThreadWire:
    """Blocking streams, each read and write in a worker thread (terminals, files, tests)."""

    def __init__(self, stdin: IO[bytes], stdout: IO[bytes], cap: int) -> None:
        self._in, self._out, self._cap = stdin, stdout, cap

    async def read_line(self) -> tuple[bytes, bool]:
        return await anyio.to_thread.run_sync(read_line, self._in, self._cap)

    async def write(self, data: bytes) -> None:
        await anyio.to_thread.run_sync(_write, self._out, data)


class _LoopWire:
    """Non-blocking pipe or socket fds, read and written on the event loop."""

    def __init__(self, fd_in: int, fd_out: int, cap: int) -> None:
        self._lines, self._out = PipeLines(fd_in, cap), fd_out

    async def read_line(self) -> tuple[bytes, bool]:
        return await self._lines.read_line()

    async def write(self, data: bytes) -> None:
        await write_all(self._out, data)


@asynccontextmanager
async def _serving(wire: _Wire, cap: int) -> AsyncIterator[tuple[ReadStream, WriteStream]]:
    read_send, read_receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_send, write_receive = anyio.create_memory_object_stream[SessionMessage](16)
    errors_send = write_send.clone()

    async def reader() -> None:
        async with read_send, errors_send:
            while True:
                line, oversized = await wire.read_line()
                if not line:
                    return
                if not line.strip():
                    continue
                incoming, reply = parse_line(line, cap, oversized)
                if incoming is not None:
                    await read_send.send(incoming)
                elif reply is not None:
                    await errors_send.send(reply)

    async def writer() -> None:
        async with write_receive:
            async for message in write_receive:
                await wire.write(message.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n")

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        tg.start_soon(writer)
        yield read_receive, write_send
        tg.cancel_scope.cancel()


def _write(stream: IO[bytes], data: bytes) -> None:
    stream.write(data)
    stream.flush()


def _claim_std_fds() -> tuple[int, int, list[tuple[int, int]]]:
    """The wire's own fds (duplicates of 0 and 1); fd 0 becomes the null device and fd 1 stderr."""
    wire_in, wire_out = os.dup(0), os.dup(1)
    saved = [(0, os.dup(0)), (1, os.dup(1))]
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return wire_in, wire_out, saved
