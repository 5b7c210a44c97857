"""The stdio wire on the event loop (transports/pipe_io.py), over real pipes."""

from __future__ import annotations

import os
import tempfile

import anyio
import pytest

from mcp_gateway.transports.pipe_io import PipeLines, is_pollable, loop_can_serve, nonblocking, write_all

pytestmark = pytest.mark.anyio
CAP = 32


async def _lines_of(payload: bytes, cap: int = CAP) -> list[tuple[bytes, bool]]:
    """What PipeLines reads from a pipe that `payload` is written into (in small pieces, by a
    second task, so reads meet partial lines) and then closed."""
    read_fd, write_fd = os.pipe()
    found: list[tuple[bytes, bool]] = []
    os.set_blocking(write_fd, False)  # closed by the feeder, so not restored
    with nonblocking(read_fd):

        async def feed() -> None:
            for start in range(0, len(payload), 7):
                await write_all(write_fd, payload[start : start + 7])
                await anyio.sleep(0)
            os.close(write_fd)

        async with anyio.create_task_group() as tg:
            tg.start_soon(feed)
            lines = PipeLines(read_fd, cap)
            while True:
                line, oversized = await lines.read_line()
                if not line:
                    break
                found.append((line, oversized))
    os.close(read_fd)
    return found


async def test_lines_come_whole_however_the_bytes_arrive() -> None:
    assert await _lines_of(b'{"a": 1}\n{"b": 2}\n\n{"c": 3}\n') == [
        (b'{"a": 1}\n', False),
        (b'{"b": 2}\n', False),
        (b"\n", False),
        (b'{"c": 3}\n', False),
    ]


async def test_a_line_at_the_cap_passes_and_a_longer_one_is_cut_and_its_tail_dropped() -> None:
    at_cap = b"x" * CAP + b"\n"
    too_long = b'{"id": 7, ' + b"y" * 200 + b"}\n"
    found = await _lines_of(at_cap + too_long + b"next\n")
    assert found == [(at_cap, False), (too_long[: CAP + 1], True), (b"next\n", False)]


async def test_a_last_line_without_a_newline_is_still_delivered() -> None:
    assert await _lines_of(b"one\ntwo") == [(b"one\n", False), (b"two", False)]


async def test_a_write_larger_than_the_pipe_waits_for_the_reader() -> None:
    read_fd, write_fd = os.pipe()
    data = os.urandom(1 << 20)  # a pipe holds 64 KiB: the writer must wait on the loop
    received = bytearray()
    with nonblocking(read_fd, write_fd):

        async def drain() -> None:
            while len(received) < len(data):
                await anyio.wait_readable(read_fd)
                received.extend(os.read(read_fd, 1 << 16))

        async with anyio.create_task_group() as tg:
            tg.start_soon(drain)
            await write_all(write_fd, data)
    assert bytes(received) == data
    assert os.get_blocking(read_fd) and os.get_blocking(write_fd)  # the mode is restored
    os.close(read_fd)
    os.close(write_fd)


def test_only_pipes_and_sockets_are_read_on_the_loop() -> None:
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryFile() as regular:
        assert is_pollable(read_fd) and is_pollable(write_fd) and not is_pollable(regular.fileno())
    os.close(read_fd)
    os.close(write_fd)


def test_an_output_pipe_shared_with_stderr_keeps_the_thread_path() -> None:
    wire_in, wire_out = os.pipe()
    err_in, err_out = os.pipe()
    shared = os.dup(wire_out)  # as `2>&1` gives: stderr is the wire's own pipe
    try:
        assert loop_can_serve(wire_in, wire_out, err_out)
        assert not loop_can_serve(wire_in, wire_out, shared)
    finally:
        for fd in (wire_in, wire_out, err_in, err_out, shared):
            os.close(fd)
