"""The stdio wire read and written on the event loop itself, when it is a pipe or a socket.

Reading a line, or writing one, through a worker thread costs two hand-offs between threads per
message (the call goes to the thread, the result wakes the loop): on a small machine that is a
measurable share of a whole tool call (bench/bench_gateway.py). A pipe or a socket can be
watched by the event loop instead: the fd is switched to non-blocking mode and read or written
when the loop says it is ready, with no thread involved.

Only pipes and sockets: they are what an MCP client gives the server it starts, and their open
file description is not shared with a shell the way a terminal is (O_NONBLOCK is a property of
the description, so it would leak to everyone holding it). Anything else (a terminal, a regular
file) keeps the thread path in stdio.py. The previous mode is restored on the way out.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

import anyio

READ_CHUNK = 64 * 1024


def is_pollable(fd: int) -> bool:
    """Whether the event loop can watch `fd`: a pipe or a socket."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def loop_can_serve(fd_in: int, fd_out: int, fd_err: int = 2) -> bool:
    """Whether the wire can be served on the loop: both ends pollable, and the output not the
    same pipe as stderr (`2>&1`): non-blocking mode would reach stderr too, and a log line
    written while the pipe is full would fail with EAGAIN instead of waiting."""
    if not (is_pollable(fd_in) and is_pollable(fd_out)):
        return False
    out, err = os.fstat(fd_out), os.fstat(fd_err)
    return (out.st_dev, out.st_ino) != (err.st_dev, err.st_ino)


@contextmanager
def nonblocking(*fds: int) -> Iterator[None]:
    before = {fd: os.get_blocking(fd) for fd in fds}
    for fd in fds:
        os.set_blocking(fd, False)
    try:
        yield
    finally:
        for fd, blocking in before.items():
            os.set_blocking(fd, blocking)


class PipeLines:
    """Lines from a non-blocking fd, at most `cap` bytes each kept (see `read_line`)."""

    def __init__(self, fd: int, cap: int) -> None:
        self._fd, self._cap = fd, cap
        self._buffer = bytearray()
        self._eof = False

    async def read_line(self) -> tuple[bytes, bool]:
        """The next line (newline included) and False; or, for a line longer than `cap`, its
        first `cap + 1` bytes and True, the rest discarded unread into memory; b"" at the end.
        The same contract as stdio.read_line on a blocking stream."""
        while True:
            end = self._buffer.find(b"\n", 0, self._cap + 1)
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line, False
            if len(self._buffer) > self._cap:
                head = bytes(self._buffer[: self._cap + 1])
                await self._discard_line()
                return head, True
            if self._eof:
                line = bytes(self._buffer)
                self._buffer.clear()
                return line, False
            await self._fill()

    async def _discard_line(self) -> None:
        """Drop bytes up to and including the next newline, holding at most one chunk."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                del self._buffer[: end + 1]
                return
            self._buffer.clear()
            if self._eof:
                return
            await self._fill()

    async def _fill(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, READ_CHUNK)
            except BlockingIOError:
                await anyio.wait_readable(self._fd)
                continue
            if not chunk:
                self._eof = True
            self._buffer += chunk
            return


async def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to a non-blocking fd, waiting on the loop while the pipe is full."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            await anyio.wait_writable(fd)
            continue
        view = view[written:]
