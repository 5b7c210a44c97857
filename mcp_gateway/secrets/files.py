"""Private files: created 0600, written atomically, read only when nobody else can read them.

An atomic write is a temp file in the same directory (mkstemp makes it 0600), fsync, rename,
fsync of the directory: after a crash at any point the path holds either the old content or
the new, never a mix, and the rename itself survives a power cut. `create_exclusive` links
instead of renaming, so of two processes creating the same file one wins and the other learns
of it, rather than both believing their own content is there.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from mcp_gateway.secrets.errors import SecretStoreError

TEMP_SUFFIX = ".tmp"


def make_private_dir(path: Path) -> None:
    """`path` (and missing parents) as a directory only its owner can enter."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SecretStoreError(f"{path} cannot be created ({exc.strerror})") from None


def check_private_dir(path: Path) -> None:
    """Refuse a directory that someone other than its owner (the current user) may use.
    FileNotFoundError passes through: a directory not made yet is not a loose one."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SecretStoreError(f"{path} cannot be read ({exc.strerror})") from None
    problem = _problem(info)
    if problem:
        raise SecretStoreError(f"{path} {problem}; run: chmod 700 {path}")


def write_atomic(path: Path, data: bytes) -> None:
    temp = _write_temp(path, data)
    try:
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise SecretStoreError(f"{path} cannot be written ({exc.strerror})") from None
    fsync_dir(path.parent)


def create_exclusive(path: Path, data: bytes) -> bool:
    """Create `path` with `data` unless it exists; True if this call created it."""
    temp = _write_temp(path, data)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    except OSError as exc:
        raise SecretStoreError(f"{path} cannot be created ({exc.strerror})") from None
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def replace(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as exc:
        raise SecretStoreError(f"{source} cannot be renamed to {target} ({exc.strerror})") from None
    fsync_dir(target.parent)


def remove(path: Path) -> bool:
    """Unlink `path` durably; False if it was not there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise SecretStoreError(f"{path} cannot be removed ({exc.strerror})") from None
    fsync_dir(path.parent)
    return True


def read_private(path: Path, limit: int) -> bytes | None:
    """The content of `path` (None if it does not exist), refused unless it is a regular file of
    at most `limit` bytes, owned by the current user and closed to everyone else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecretStoreError(f"{path} cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)  # the file actually opened, not whatever the path names by now
        if not stat.S_ISREG(info.st_mode):
            raise SecretStoreError(f"{path} is not a regular file")
        problem = _problem(info)
        if problem:
            fix = f"chmod 600 {path}" if info.st_uid == os.geteuid() else f"chown it to uid {os.geteuid()}"
            raise SecretStoreError(f"{path} {problem}; refusing to use it (fix: {fix})")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SecretStoreError(f"{path} is larger than {limit} bytes")
    return data


def remove_stale_temps(directory: Path, prefix: str) -> None:
    """Temp files a killed writer left behind. Only safe while holding the writers' lock."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX):
            Path(entry.path).unlink(missing_ok=True)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _write_temp(path: Path, data: bytes) -> Path:
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path), suffix=TEMP_SUFFIX)
    except OSError as exc:
        raise SecretStoreError(f"cannot create a file in {path.parent} ({exc.strerror})") from None
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise SecretStoreError(f"{path} cannot be written ({exc.strerror})") from None
    return temp


def _problem(info: os.stat_result) -> str | None:
    if info.st_uid != os.geteuid():
        return f"is owned by uid {info.st_uid}, not by the current user (uid {os.geteuid()})"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return f"is open to group or others (mode {mode:04o})"
    return None
