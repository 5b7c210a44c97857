"""Reading a byte range or a line range of an open file, within a byte cap."""

from __future__ import annotations

import base64
import codecs
from dataclasses import dataclass
from typing import BinaryIO

from mcp_gateway.sdk import ToolError

from .confine import RelPath, Workspace, os_error
from .models import Encoding, ReadFileIn, ReadFileOut

# Lines are read in bounded chunks so that a huge file with no newline never lands in memory whole.
_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class Slice:
    data: bytes
    truncated: bool
    # True when `data` may end inside a UTF-8 sequence that continues in the file.
    cut: bool


def read_byte_range(f: BinaryIO, size: int, offset: int, length: int | None, cap: int) -> Slice:
    wanted = max(0, size - offset) if length is None else min(length, max(0, size - offset))
    f.seek(offset)
    data = f.read(min(wanted, cap))
    return Slice(data, truncated=wanted > cap, cut=offset + len(data) < size)


@dataclass(frozen=True, slots=True)
class LineSlice:
    data: bytes
    truncated: bool
    cut: bool
    last_line: int


def read_line_range(f: BinaryIO, start: int, end: int | None, cap: int) -> LineSlice:
    """Lines `start`..`end` (1-based, inclusive; `end=None` means to the end of the file)."""
    _skip_lines(f, start - 1)
    out = bytearray()
    line = start
    truncated = False
    while end is None or line <= end:
        room = cap - len(out)
        # With no room left, one byte tells whether anything wanted remains (i.e. truncation).
        chunk = f.readline(min(_CHUNK, room) if room else 1)
        if not chunk:
            break
        if not room:
            truncated = True
            break
        out += chunk
        if chunk.endswith(b"\n"):
            line += 1
    if not out and start > 1:
        raise _past_end(start, start - 1)
    if truncated and b"\n" in out and not out.endswith(b"\n"):
        # Hand back whole lines so the caller can continue at end_line + 1.
        del out[out.rindex(b"\n") + 1 :]
    last_line = line - 1 if not out or out.endswith(b"\n") else line
    return LineSlice(bytes(out), truncated, cut=truncated and not out.endswith(b"\n"), last_line=last_line)


def _skip_lines(f: BinaryIO, count: int) -> None:
    seen = 0
    at_line_start = True
    while seen < count:
        chunk = f.readline(_CHUNK)
        if not chunk:
            total = seen if at_line_start else seen + 1
            raise _past_end(count + 1, total)
        at_line_start = chunk.endswith(b"\n")
        if at_line_start:
            seen += 1


def _past_end(start: int, lines: int) -> ToolError:
    return ToolError(f"start_line {start} is past the end of the file, which has {lines} lines")


def encode(data: bytes, encoding: Encoding, *, cut: bool, shown: str) -> tuple[str, int]:
    """The content as the model receives it, and how many bytes of `data` it represents.

    When the read stopped inside the file, a multi-byte character split at the end is left out
    rather than reported as binary."""
    if encoding == "base64":
        return base64.b64encode(data).decode("ascii"), len(data)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(data, final=not cut)
    except UnicodeDecodeError as exc:
        raise ToolError(
            f"{shown!r} is not valid UTF-8 text at byte {exc.start} of the returned range (a binary file, or "
            "a range starting inside a character): read it with encoding 'base64'"
        ) from None
    pending, _ = decoder.getstate()
    return text, len(data) - len(pending)


def read_file(workspace: Workspace, path: RelPath, args: ReadFileIn, cap: int) -> ReadFileOut:
    try:
        fd, st = workspace.open_regular_file(path)
        with open(fd, "rb") as f:
            if args.start_line is not None or args.end_line is not None:
                start = args.start_line or 1
                lines = read_line_range(f, start, args.end_line, cap)
                content, _ = encode(lines.data, args.encoding, cut=lines.cut, shown=path.shown)
                return ReadFileOut(
                    path=path.shown,
                    content=content,
                    encoding=args.encoding,
                    size=st.st_size,
                    truncated=lines.truncated,
                    start_line=start,
                    end_line=lines.last_line,
                )
            offset = args.offset or 0
            part = read_byte_range(f, st.st_size, offset, args.length, cap)
            content, length = encode(part.data, args.encoding, cut=part.cut, shown=path.shown)
            return ReadFileOut(
                path=path.shown,
                content=content,
                encoding=args.encoding,
                size=st.st_size,
                truncated=part.truncated,
                offset=offset,
                length=length,
            )
    except OSError as exc:
        raise os_error(exc, path) from None
