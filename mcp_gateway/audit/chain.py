"""One audit line and the chain that links it to the one before.

A line is the record's JSON object (seq first, compact, keys in a fixed order) with one last
member, `"mac"`: the HMAC-SHA256, under the chain key, of the previous line's MAC followed by
the bytes of this line up to (not including) `,"mac":`. The MAC covers the line exactly as
written, so verifying needs no JSON parsing and no canonical re-serialisation; changing,
removing, inserting or reordering any line breaks every MAC after it. The first line of the
whole log chains from GENESIS.
"""

from __future__ import annotations

import hmac
from typing import Any, Final

import orjson

GENESIS: Final = b"\x00" * 32
_MAC_MARK: Final = b',"mac":"'
_MAC_HEX: Final = 64
_LINE_TAIL: Final = len(_MAC_MARK) + _MAC_HEX + len(b'"}\n')


class BadLine(ValueError):
    pass


def seal(fields: dict[str, Any], previous_mac: bytes, key: bytes) -> tuple[bytes, bytes]:
    """The line for `fields` (which must start with `seq`) and its MAC."""
    body = orjson.dumps(fields, default=str)  # compact UTF-8; 15x faster than json here
    head = body[:-1]  # without the closing brace
    mac = hmac.digest(key, previous_mac + head, "sha256")
    return head + _MAC_MARK + mac.hex().encode() + b'"}\n', mac


def open_line(line: bytes, previous_mac: bytes, key: bytes) -> bytes:
    """Check `line` against the chain; its MAC, or `BadLine` saying why not."""
    if len(line) <= _LINE_TAIL or not line.endswith(b'"}\n'):
        raise BadLine("not a complete audit line")
    head, mark, mac_hex = line[:-_LINE_TAIL], line[-_LINE_TAIL : -_LINE_TAIL + len(_MAC_MARK)], line[-67:-3]
    if mark != _MAC_MARK:
        raise BadLine("no MAC where the line should end")
    expected = hmac.digest(key, previous_mac + head, "sha256")
    if not hmac.compare_digest(mac_hex, expected.hex().encode()):
        raise BadLine("the MAC does not match (the line, or one before it, was changed, removed or moved)")
    return expected


def seq_of(line: bytes) -> int:
    """The sequence number of a line, read from its fixed prefix `{"seq":N,`."""
    if not line.startswith(b'{"seq":'):
        raise BadLine("the line does not start with its sequence number")
    end = line.find(b",", 7)
    digits = line[7:end]
    if end < 0 or not digits.isdigit():
        raise BadLine("the sequence number is not a number")
    return int(digits)


def fields_of(line: bytes) -> dict[str, Any]:
    """The record's fields (for queries; verification never needs them)."""
    record: dict[str, Any] = orjson.loads(line)
    return record
