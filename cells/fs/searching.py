"""Searching text files under a workspace directory, line by line.

The walk never follows a symlink, neither to a directory nor to a file: every directory is
opened with `O_NOFOLLOW` relative to its (already confined) parent fd, so the search cannot
be led outside the root, cannot loop, and cannot report the same file twice.

Expressions run on the `regex` module, not `re`: a caller's expression can backtrack for ever
(`(a|aa)+$`), and `re` can neither stop that nor let go of the GIL meanwhile, so one call
would freeze every call of the gateway. `regex` matches with a timeout and without the GIL:
the whole search gets `max_search_seconds`, then ends with an error.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import stat
import time
from collections.abc import Generator
from dataclasses import dataclass, field

import regex

from mcp_gateway.sdk import ToolError

from .confine import RelPath, Workspace, os_error
from .models import SearchMatch, SearchOut

MAX_LINE_CHARS = 500
_SUBDIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def compile_query(query: str, *, is_regex: bool, case_sensitive: bool) -> regex.Pattern[str]:
    # V0: the semantics of Python's `re`, which is what the tool's description promises.
    flags = regex.V0 | (0 if case_sensitive else regex.IGNORECASE)
    try:
        return regex.compile(query if is_regex else regex.escape(query), flags)
    except regex.error as exc:
        raise ToolError(f"invalid regular expression: {exc}") from None


@dataclass(frozen=True, slots=True)
class SearchLimits:
    max_results: int
    max_file_bytes: int
    seconds: float
    """For the whole search, expression matching included."""


@dataclass(slots=True)
class _Collector:
    pattern: regex.Pattern[str]
    limit: int
    seconds: float
    deadline: float = 0.0
    matches: list[SearchMatch] = field(default_factory=list)
    truncated: bool = False
    files_scanned: int = 0

    def scan(self, text: str, shown: str) -> bool:
        """Record the matching lines of one file; return False once the result cap is exceeded."""
        self.files_scanned += 1
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        search, deadline = self.pattern.search, self.deadline
        for number, raw in enumerate(lines, start=1):
            line = raw.removesuffix("\r")
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                if not search(line, timeout=left, concurrent=True):
                    continue
            except TimeoutError:
                raise ToolError(
                    f"the search did not finish within {self.seconds:g} s (max_search_seconds): "
                    "narrow path or glob, or simplify the expression"
                ) from None
            if len(self.matches) >= self.limit:
                self.truncated = True
                return False
            self.matches.append(SearchMatch(path=shown, line=number, text=line[:MAX_LINE_CHARS]))
        return True

    def result(self) -> SearchOut:
        return SearchOut(matches=self.matches, truncated=self.truncated, files_scanned=self.files_scanned)


def search(
    workspace: Workspace, base: RelPath, pattern: regex.Pattern[str], glob: str, limits: SearchLimits
) -> SearchOut:
    """Search `base` (a directory, recursively, or a single file) for lines matching `pattern`."""
    collector = _Collector(pattern, limits.max_results, limits.seconds, time.monotonic() + limits.seconds)
    try:
        base_fd = workspace.open_path(base)
        try:
            st = os.fstat(base_fd)
            if stat.S_ISREG(st.st_mode):
                text = _load_text(workspace, base_fd, base, limits.max_file_bytes)
                if text is not None:
                    collector.scan(text, base.shown)
                return collector.result()
            if not stat.S_ISDIR(st.st_mode):
                raise ToolError(f"not a file or directory: {base.shown!r}")
            dir_fd = workspace.reopen(base_fd, os.O_RDONLY | os.O_DIRECTORY)
        finally:
            os.close(base_fd)
    except OSError as exc:
        raise os_error(exc, base) from None
    try:
        with contextlib.closing(_walk(workspace, dir_fd, base)) as files:
            for parent_fd, path in files:
                if not _glob_matches(glob, path.parts[len(base.parts) :]):
                    continue
                text = _open_and_load(workspace, parent_fd, path, limits.max_file_bytes)
                if text is not None and not collector.scan(text, path.shown):
                    break
    finally:
        os.close(dir_fd)
    return collector.result()


def _glob_matches(glob: str, rel_parts: tuple[str, ...]) -> bool:
    if "/" in glob:
        return fnmatch.fnmatchcase("/".join(rel_parts), glob)
    return fnmatch.fnmatchcase(rel_parts[-1], glob)


def _walk(workspace: Workspace, dir_fd: int, here: RelPath) -> Generator[tuple[int, RelPath]]:
    """Yield `(parent_fd, path)` for each regular file below `dir_fd`, in name order, files of a
    directory before its subdirectories. Unreadable directories are skipped."""
    try:
        with os.scandir(dir_fd) as it:
            entries = sorted((e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False)) for e in it)
    except OSError:
        return
    for name, _, is_file in entries:
        if is_file:
            yield dir_fd, here.child(name)
    for name, is_dir, _ in entries:
        if not is_dir:
            continue
        sub = here.child(name)
        try:
            sub_fd = os.open(name, _SUBDIR_FLAGS, dir_fd=dir_fd)
        except OSError:
            continue
        try:
            workspace.check_inside(sub_fd, sub)
            yield from _walk(workspace, sub_fd, sub)
        except ToolError:
            continue
        finally:
            os.close(sub_fd)


def _open_and_load(workspace: Workspace, dir_fd: int, path: RelPath, max_bytes: int) -> str | None:
    try:
        path_fd = workspace.open_path_at(dir_fd, path.name, path)
    except (OSError, ToolError):
        return None
    try:
        return _load_text(workspace, path_fd, path, max_bytes)
    finally:
        os.close(path_fd)


def _load_text(workspace: Workspace, path_fd: int, path: RelPath, max_bytes: int) -> str | None:
    """The file's text, or None when it is to be skipped: not a regular file, over the size
    cap, unreadable, or binary (a NUL byte or invalid UTF-8)."""
    try:
        st = os.fstat(path_fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        fd = workspace.reopen(path_fd, os.O_RDONLY)
    except OSError:
        return None
    with open(fd, "rb") as f:
        # The file may have grown since fstat; never read past the cap.
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes or b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
