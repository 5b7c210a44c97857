"""The fs cell: read, write, list and search files inside one workspace directory."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import anyio.to_thread
from pydantic import BaseModel

from mcp_gateway.sdk import Cell, CellContext, tool

from . import entries, reading, searching, writing
from .confine import Workspace, parse_path
from .models import (
    FsSettings,
    ListDirIn,
    ListDirOut,
    ReadFileIn,
    ReadFileOut,
    SearchIn,
    SearchOut,
    StatIn,
    StatOut,
    WriteFileIn,
    WriteFileOut,
)

_LIST_DIR = """List the entries of a directory in the workspace. `path` is relative to the workspace \
root ('.' is the root). Returns each entry's name, type (file, dir, symlink or other) and, for \
files, size in bytes, sorted by name. Hidden entries (names starting with '.') are left out unless \
include_hidden is true. At most max_list_entries entries (1000 by default) are returned; \
`truncated` is true when the directory holds more."""

_READ_FILE = """Read a file in the workspace. `path` is relative to the workspace root. Returns the \
content as UTF-8 text, or base64 with encoding='base64' (needed for binary files: a UTF-8 read of \
a binary file fails and says so). To read part of a file give either a line range (start_line, \
end_line: 1-based, inclusive) or a byte range (offset, length), not both. At most max_read_bytes \
(1 MiB by default) are returned per call: `truncated` is then true and start_line/end_line or \
offset/length say exactly what was returned, so the next call can continue from there. `size` is \
the size of the whole file in bytes."""

_WRITE_FILE = """Write a file in the workspace. `path` is relative to the workspace root. mode \
'overwrite' (the default) replaces the whole file atomically, 'append' adds to its end, 'create' \
fails if the file already exists. `content` is UTF-8 text, or bytes in base64 with \
encoding='base64'. At most max_write_bytes (1 MiB by default, counted after decoding) per call; \
write larger files in parts with mode 'append'. A missing parent directory is an error unless \
create_parents is true. Never writes through a symlink. Returns the number of bytes written."""

_SEARCH = """Search text files in the workspace for lines containing `query`: a plain substring, or \
a Python regular expression when regex is true; case-insensitive unless case_sensitive is true. \
`path` (relative to the workspace root) is a directory, searched recursively, or a single file. \
`glob` filters file names (e.g. '*.py'); a glob containing '/' is matched against the path below \
`path`. Binary files, files over max_search_file_bytes (2 MiB by default) and symlinks are \
skipped. Returns matching lines as path (relative to the workspace root), 1-based line number and \
text (cut to 500 characters), at most max_results and never more than max_search_results (200 by \
default); `truncated` is true when more matches exist. `files_scanned` counts the files searched. \
A search that takes longer than max_search_seconds (5 s by default) ends with an error."""

_STAT = """Describe one path in the workspace (relative to the workspace root): its type (file, \
dir, symlink or other; a symlink is described itself, not followed), size in bytes, last \
modification time (ISO 8601, UTC) and permission bits in octal (e.g. '0644')."""


class FsCell(Cell):
    """File access confined to one workspace directory (see `confine` for how)."""

    namespace = "fs"
    version = "1.0.0"
    Settings = FsSettings

    def __init__(self, settings: BaseModel, state_dir: Path) -> None:
        super().__init__(settings, state_dir)
        if not isinstance(settings, FsSettings):
            raise TypeError(f"FsCell needs FsSettings, not {type(settings).__name__}")
        self.config = settings
        self._workspace: Workspace | None = None

    async def start(self) -> None:
        self._workspace = await anyio.to_thread.run_sync(Workspace.open, self.config.root)

    async def stop(self) -> None:
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            raise RuntimeError("the fs cell was called before start()")
        return self._workspace

    @tool(description=_LIST_DIR, read_only=True, idempotent=True)
    async def list_dir(self, args: ListDirIn, ctx: CellContext) -> ListDirOut:
        run = partial(
            entries.list_dir,
            self.workspace,
            parse_path(args.path),
            include_hidden=args.include_hidden,
            limit=self.config.max_list_entries,
        )
        return await anyio.to_thread.run_sync(run)

    @tool(description=_READ_FILE, read_only=True, idempotent=True)
    async def read_file(self, args: ReadFileIn, ctx: CellContext) -> ReadFileOut:
        run = partial(reading.read_file, self.workspace, parse_path(args.path), args, self.config.max_read_bytes)
        return await anyio.to_thread.run_sync(run)

    @tool(description=_WRITE_FILE, destructive=True)
    async def write_file(self, args: WriteFileIn, ctx: CellContext) -> WriteFileOut:
        path = parse_path(args.path)
        data = writing.decode_content(args.content, args.encoding, self.config.max_write_bytes)
        run = partial(writing.write_file, self.workspace, path, data, args.mode, args.create_parents)
        written = await anyio.to_thread.run_sync(run)
        return WriteFileOut(path=path.shown, bytes_written=written)

    @tool(description=_SEARCH, read_only=True, idempotent=True)
    async def search(self, args: SearchIn, ctx: CellContext) -> SearchOut:
        path = parse_path(args.path)
        pattern = searching.compile_query(args.query, is_regex=args.regex, case_sensitive=args.case_sensitive)
        cap = self.config.max_search_results
        limits = searching.SearchLimits(
            max_results=cap if args.max_results is None else min(args.max_results, cap),
            max_file_bytes=self.config.max_search_file_bytes,
            seconds=self.config.max_search_seconds,
        )
        run = partial(searching.search, self.workspace, path, pattern, args.glob, limits)
        return await anyio.to_thread.run_sync(run)

    @tool(description=_STAT, read_only=True, idempotent=True)
    async def stat(self, args: StatIn, ctx: CellContext) -> StatOut:
        run = partial(entries.stat_path, self.workspace, parse_path(args.path))
        return await anyio.to_thread.run_sync(run)
