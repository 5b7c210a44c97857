"""Path confinement: every object the fs cell touches is proven to lie inside the workspace.

Paths from the model are parsed into components (`RelPath`) and never joined onto the root
as strings. They are resolved one component at a time from a directory fd held on the root,
each step opened with `O_PATH` and checked, as an open object, against the kernel's own view
of where it lives (`/proc/self/fd/N`). Because the check judges the object actually opened,
not the path that named it, a symlink swapped in between any check and the open cannot
redirect a call outside the root.

`O_PATH` pins an inode without opening it (no side effects even on a FIFO or a device), so
files and directories are only reopened for I/O (through `/proc/self/fd`, with no new path
lookup) once they are proven inside.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mcp_gateway.sdk import ToolError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_PATH_FLAGS = os.O_PATH | os.O_CLOEXEC
MAX_PATH_CHARS = 4096


@dataclass(frozen=True, slots=True)
class RelPath:
    """A validated path relative to the workspace root; `parts` is empty for the root itself."""

    parts: tuple[str, ...]

    @property
    def shown(self) -> str:
        """The path as reported back to the model: relative, normalised, never the host path."""
        return "/".join(self.parts) or "."

    @property
    def name(self) -> str:
        return self.parts[-1] if self.parts else "."

    @property
    def parent(self) -> RelPath:
        return RelPath(self.parts[:-1])

    def child(self, name: str) -> RelPath:
        return RelPath((*self.parts, name))


def parse_path(raw: str) -> RelPath:
    """Validate a path argument from the model; raise `ToolError` for anything that could escape."""
    if raw == "":
        raise ToolError("path is empty: use '.' for the workspace root")
    if "\x00" in raw:
        raise ToolError("path contains a NUL byte")
    if len(raw) > MAX_PATH_CHARS:
        raise ToolError(f"path is longer than {MAX_PATH_CHARS} characters")
    if raw.startswith("/"):
        raise ToolError(f"absolute paths are not allowed: {raw!r}; give a path relative to the workspace root")
    parts = tuple(part for part in raw.split("/") if part not in ("", "."))
    if ".." in parts:
        raise ToolError(f"'..' is not allowed in paths: {raw!r}; give a path relative to the workspace root")
    return RelPath(parts)


def os_error(exc: OSError, path: RelPath) -> ToolError:
    """Translate an OS error into a message naming only the workspace-relative path.

    `str(exc)` is never used: it can carry a host path (e.g. a `/proc/self/fd` name)."""
    shown = path.shown
    if isinstance(exc, FileNotFoundError):
        return ToolError(f"no such file or directory: {shown!r}")
    if isinstance(exc, NotADirectoryError):
        return ToolError(f"not a directory (or a component of it is not): {shown!r}")
    if isinstance(exc, IsADirectoryError):
        return ToolError(f"is a directory: {shown!r}")
    if isinstance(exc, FileExistsError):
        return ToolError(f"already exists: {shown!r}")
    if isinstance(exc, PermissionError):
        return ToolError(f"permission denied: {shown!r}")
    if exc.errno == errno.ELOOP:
        return ToolError(f"too many levels of symbolic links, or a symlink where none is allowed: {shown!r}")
    reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
    return ToolError(f"cannot access {shown!r}: {reason}")


def escape_error(path: RelPath) -> ToolError:
    return ToolError(f"path resolves outside the workspace (through a symlink): {path.shown!r}")


class Workspace:
    """The workspace root, held open as a directory fd for the cell's lifetime."""

    def __init__(self, root_fd: int, root_real: str) -> None:
        self._root_fd = root_fd
        self._root_real = root_real
        self._prefix = root_real.rstrip("/") + "/"

    @classmethod
    def open(cls, root: Path) -> Workspace:
        """Create the root if missing (private to the gateway user) and pin it."""
        root = root.expanduser()
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        root_fd = os.open(root, _DIR_FLAGS)
        try:
            root_real = _fd_path(root_fd)
            # Confinement relies on the kernel naming open fds; refuse to run without it
            # rather than fall back to a check that a symlink swap could defeat.
            if not os.path.isabs(root_real) or not os.path.samestat(os.stat(root_real), os.fstat(root_fd)):
                raise RuntimeError("the fs cell needs /proc/self/fd to confine paths; it is not available")
        except BaseException:
            os.close(root_fd)
            raise
        return cls(root_fd, root_real)

    def close(self) -> None:
        os.close(self._root_fd)

    def check_inside(self, fd: int, path: RelPath) -> None:
        """Raise unless the object open on `fd` lies inside the workspace (the root included)."""
        real = _fd_path(fd)
        if real != self._root_real and not real.startswith(self._prefix):
            raise escape_error(path)

    def open_path(self, path: RelPath, *, follow_final: bool = True) -> int:
        """An `O_PATH` fd on `path`, proven inside the workspace. Symlinks along the way are
        followed (a link inside the workspace may point anywhere inside it); with
        `follow_final=False` a final symlink is opened as the link itself."""
        return self._walk(path, follow_final=follow_final, create=False)

    def open_path_at(self, dir_fd: int, name: str, path: RelPath) -> int:
        """An `O_PATH` fd on `name` inside an already-confined directory, never following a symlink."""
        fd = os.open(name, _PATH_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)
        try:
            self.check_inside(fd, path)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def open_dir(self, path: RelPath, *, create: bool = False) -> int:
        """A readable directory fd on `path`, proven inside the workspace; with `create`,
        missing directories are made, each only inside a directory already proven inside."""
        fd = self._walk(path, follow_final=True, create=create)
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
            return self.reopen(fd, os.O_RDONLY | os.O_DIRECTORY)
        finally:
            os.close(fd)

    def _walk(self, path: RelPath, *, follow_final: bool, create: bool) -> int:
        """Resolve `path` one component at a time, each step opened with `O_PATH` and proven
        inside the workspace before the next is looked up. Resolving the whole path in one
        call would also work for confinement, but would let a planted symlink to `/` answer
        whether any host path exists; stepwise, nothing below an escaping link is looked up."""
        fd = os.dup(self._root_fd)
        try:
            for depth, part in enumerate(path.parts, start=1):
                final = depth == len(path.parts)
                flags = _PATH_FLAGS if follow_final or not final else _PATH_FLAGS | os.O_NOFOLLOW
                try:
                    next_fd = os.open(part, flags, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    # Another writer may create it first; a dangling symlink left here is
                    # opened as the link itself below and refused as not a directory.
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o777, dir_fd=fd)
                    next_fd = os.open(part, _PATH_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = next_fd
                self.check_inside(fd, RelPath(path.parts[:depth]))
                if create and not stat.S_ISDIR(os.fstat(fd).st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        except BaseException:
            os.close(fd)
            raise
        return fd

    def reopen(self, path_fd: int, flags: int) -> int:
        """Open the very inode pinned by an `O_PATH` fd for I/O, with no new path lookup."""
        fd = os.open(f"/proc/self/fd/{path_fd}", flags | os.O_CLOEXEC)
        if not os.path.samestat(os.fstat(fd), os.fstat(path_fd)):
            os.close(fd)
            raise RuntimeError("reopening through /proc/self/fd yielded a different file")
        return fd

    def open_regular_file(self, path: RelPath) -> tuple[int, os.stat_result]:
        """A read-only fd on the regular file at `path` (symlinks inside the workspace followed)."""
        path_fd = self.open_path(path)
        try:
            st = os.fstat(path_fd)
            require_regular(st, path)
            return self.reopen(path_fd, os.O_RDONLY), st
        finally:
            os.close(path_fd)


def require_regular(st: os.stat_result, path: RelPath) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise ToolError(f"is a directory: {path.shown!r}; use list_dir to see its entries")
    if not stat.S_ISREG(st.st_mode):
        raise ToolError(f"not a regular file: {path.shown!r}")


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")
