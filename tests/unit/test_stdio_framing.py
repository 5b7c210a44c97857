from __future__ import annotations

import io

import mcp.types as t

from mcp_gateway.transports.stdio import parse_line, read_line


def test_long_lines_are_cut_and_their_tail_discarded() -> None:
    stream = io.BytesIO(b"x" * 1000 + b"\n" + b'{"next": 1}\n')
    line, oversized = read_line(stream, 100)
    assert oversized and len(line) == 101
    assert read_line(stream, 100) == (b'{"next": 1}\n', False)


def test_replies_to_broken_lines_carry_the_id_when_it_can_be_found() -> None:
    incoming, reply = parse_line(b'{"jsonrpc": "2.0", "id": "abc", "method": ', 100, False)
    assert incoming is None and reply is not None
    assert isinstance(reply.message, t.JSONRPCError)
    assert reply.message.id == "abc" and reply.message.error.code == t.PARSE_ERROR
    _, reply = parse_line(b"garbage", 100, False)
    assert reply is not None and isinstance(reply.message, t.JSONRPCError) and reply.message.id is None
    _, reply = parse_line(b'{"id": 7, "jsonrpc": "2.0", "method": 3}', 100, False)
    assert reply is not None and isinstance(reply.message, t.JSONRPCError)
    assert reply.message.id == 7 and reply.message.error.code == t.INVALID_REQUEST


def test_good_lines_become_messages() -> None:
    incoming, reply = parse_line(b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}\n', 100, False)
    assert reply is None and incoming is not None
    assert isinstance(incoming.message, t.JSONRPCRequest)
