"""The directory of sealed secrets: one `<name>.json` per secret, plus the root key entry.

The directory is 0700 and its files 0600. Writers (set, delete, rotation, first root key) hold
an exclusive `flock` on `.lock` for the whole operation, so a rotation never races a `set` that
would seal under the key being retired. Readers take no lock: every file is replaced whole by a
rename, so a reader sees the old version or the new one, each sealed under the key it names.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from mcp_gateway.secrets import files
from mcp_gateway.secrets.errors import SecretCorrupt, SecretStoreError
from mcp_gateway.secrets.record import NAME_PATTERN, ROOT_ENTRY, Record

SUFFIX = ".json"
LOCK_FILE = ".lock"
# A sealed 64 KiB value in base64 with its metadata stays far below this.
_RECORD_LIMIT = 256 * 1024
_ENTRY = re.compile(f"{NAME_PATTERN}|{ROOT_ENTRY}")


class SecretDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._prefix = os.path.join(path, "")  # joined by hand on the read path: pathlib costs µs
        self._checked = False

    def file(self, entry: str) -> Path:
        return Path(self.where(entry))

    def where(self, entry: str) -> str:
        return f"{self._prefix}{entry}{SUFFIX}"

    def read(self, entry: str) -> Record | None:
        """The record of `entry`, None if there is none. One file read, no decryption."""
        self._check()
        path = self.where(entry)
        try:
            with open(path, "rb") as handle:
                raw = handle.read(_RECORD_LIMIT + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SecretStoreError(f"{path} cannot be read ({exc.strerror})") from None
        if len(raw) > _RECORD_LIMIT:
            raise SecretCorrupt(f"{path} is corrupt: larger than any secret file")
        try:
            record = Record.model_validate_json(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "file"
            raise SecretCorrupt(f"{path} is corrupt at {where}: {error['msg']}") from None
        if record.name != entry:
            raise SecretCorrupt(
                f"{path} holds the secret {record.name!r}, not {entry!r}: it was renamed or altered; "
                "restore it from a backup"
            )
        return record

    def write(self, record: Record) -> None:
        files.write_atomic(self.file(record.name), record.model_dump_json(indent=2).encode() + b"\n")

    def remove(self, entry: str) -> bool:
        return files.remove(self.file(entry))

    def entries(self) -> list[str]:
        """The entries that have a file, sorted. Files whose names no entry may have (`.lock`,
        temp files, an operator's `x.json.bak`) are not entries."""
        self._check()
        try:
            names = [entry.name for entry in os.scandir(self.path)]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SecretStoreError(f"{self.path} cannot be listed ({exc.strerror})") from None
        stems = (name[: -len(SUFFIX)] for name in names if name.endswith(SUFFIX))
        return sorted(stem for stem in stems if _ENTRY.fullmatch(stem))

    @contextmanager
    def locked(self, *, wait: bool = True) -> Iterator[bool]:
        """Hold the writers' lock; with `wait=False`, yield False at once if another holds it."""
        files.make_private_dir(self.path)
        self._check()
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            # Whoever held the lock before may have been killed mid-write; its temp files are junk.
            files.remove_stale_temps(self.path, ".")
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def _check(self) -> None:
        if self._checked:
            return
        try:
            files.check_private_dir(self.path)
        except FileNotFoundError:
            return
        self._checked = True
