"""Writing a file inside the workspace: atomic overwrite, append, or exclusive create.

The parent directory is opened (and proven inside the workspace) first; the final component
is then only ever touched relative to that directory fd and never through a symlink, so a
link planted as the target cannot send a write outside the root.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import stat

from mcp_gateway.sdk import ToolError

from .confine import RelPath, Workspace, os_error, require_regular
from .models import Encoding, WriteMode

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def decode_content(content: str, encoding: Encoding, cap: int) -> bytes:
    """The bytes to write, refused when over the write cap (measured after decoding)."""
    if encoding == "base64":
        try:
            # Models often wrap base64 across lines; whitespace is never part of the payload.
            data = base64.b64decode("".join(content.split()), validate=True)
        except binascii.Error:
            raise ToolError("content is not valid base64") from None
    else:
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError:
            raise ToolError("content is not encodable as UTF-8 (it holds a lone surrogate)") from None
    if len(data) > cap:
        raise ToolError(f"content is {len(data)} bytes, over the write cap of {cap} bytes: write it in parts")
    return data


def write_file(workspace: Workspace, path: RelPath, data: bytes, mode: WriteMode, create_parents: bool) -> int:
    """Write `data` to `path`; return the number of bytes written."""
    if not path.parts:
        raise ToolError("'.' is the workspace root, not a file: give a file path")
    try:
        dir_fd = workspace.open_dir(path.parent, create=create_parents)
    except FileNotFoundError:
        hint = "" if create_parents else " (set create_parents to create it)"
        raise ToolError(f"parent directory does not exist: {path.parent.shown!r}{hint}") from None
    except OSError as exc:
        raise os_error(exc, path.parent) from None
    try:
        if mode == "overwrite":
            _replace(dir_fd, path, data)
        elif mode == "append":
            _append(workspace, dir_fd, path, data)
        else:
            _create(dir_fd, path, data)
        # Make the new directory entry itself durable, not just the file's contents.
        os.fsync(dir_fd)
    except OSError as exc:
        raise os_error(exc, path) from None
    finally:
        os.close(dir_fd)
    return len(data)


def _replace(dir_fd: int, path: RelPath, data: bytes) -> None:
    """Write a temporary file beside the target and rename it over the target, so a reader sees
    either the old content or the new, never a mix, and a crash leaves the old file intact."""
    existing = _lstat_or_none(dir_fd, path.name)
    if existing is not None:
        _require_plain_target(existing, path)
    tmp = f".{path.name[:64]}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, _NEW_FILE, 0o666, dir_fd=dir_fd)
    try:
        try:
            if existing is not None:
                os.fchmod(fd, stat.S_IMODE(existing.st_mode))
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        # rename() replaces a symlink swapped in since the check; it never writes through one.
        os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def _append(workspace: Workspace, dir_fd: int, path: RelPath, data: bytes) -> None:
    try:
        path_fd = workspace.open_path_at(dir_fd, path.name, path)
    except FileNotFoundError:
        _create(dir_fd, path, data)
        return
    try:
        st = os.fstat(path_fd)
        _require_plain_target(st, path)
        if st.st_nlink > 1:
            # Another hard link may live outside the workspace; appending in place would change it too.
            raise ToolError(f"{path.shown!r} has several hard links: use mode 'overwrite' to replace it instead")
        fd = workspace.reopen(path_fd, os.O_WRONLY | os.O_APPEND)
    finally:
        os.close(path_fd)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _create(dir_fd: int, path: RelPath, data: bytes) -> None:
    # O_EXCL fails on any existing name, a dangling symlink included, so nothing is followed.
    try:
        fd = os.open(path.name, _NEW_FILE, 0o666, dir_fd=dir_fd)
    except FileExistsError:
        raise ToolError(f"{path.shown!r} already exists: use mode 'overwrite' or 'append' to change it") from None
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        # A half-written new file would look like a successful create on the next attempt.
        with contextlib.suppress(OSError):
            os.unlink(path.name, dir_fd=dir_fd)
        raise


def _require_plain_target(st: os.stat_result, path: RelPath) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise ToolError(f"{path.shown!r} is a symlink: writes never go through symlinks; write to its target path")
    require_regular(st, path)


def _lstat_or_none(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
