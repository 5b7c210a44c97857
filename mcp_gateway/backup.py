"""Backup and restore of the state dir: secrets, audit log and checkpoints, tokens, notes, pins,
budgets, the workspace.

A backup is one `.tar.gz` (0600) holding the files and a `MANIFEST.json` with each file's
SHA-256, size and kind. SQLite databases are copied with SQLite's online backup API, so a
backup of a running gateway is consistent; locks, sockets and status files are left out. The
master key file is left out unless asked for: a backup that holds the key next to the secrets
it protects is only as safe as the place it is kept. An audit log or checkpoint directory that
lives outside the state dir is stored under `audit/` and `audit-checkpoints/` and restored to
the default places (set `[audit]` again if they should live elsewhere).

Restore goes only into an empty or missing directory, checks every file against the manifest
before anything is written in place, refuses any path that would leave the target, and makes
directories 0700 and files 0600.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Final

from mcp_gateway import __version__
from mcp_gateway.errors import GatewayError

FORMAT_VERSION: Final = 1
MANIFEST: Final = "MANIFEST.json"
KEY_FILE: Final = "master.key"
_SKIPPED_SUFFIXES: Final = (".lock", "-wal", "-shm", ".sock", ".tmp")
_SKIPPED_DIRS: Final = ("status",)


class BackupError(GatewayError):
    pass


@dataclass(frozen=True, slots=True)
class Sources:
    state_dir: Path
    audit_dir: Path
    checkpoint_dir: Path


def _members(sources: Sources, include_key: bool) -> list[tuple[str, Path]]:
    """(name in the archive, file on disk) for everything that is state."""
    out: list[tuple[str, Path]] = []
    roots = [("", sources.state_dir), ("audit/", sources.audit_dir), ("audit-checkpoints/", sources.checkpoint_dir)]
    seen: set[Path] = set()
    for prefix, root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            resolved = path.resolve()
            relative = path.relative_to(root).as_posix()
            name = prefix + relative
            if resolved in seen or not path.is_file() or path.is_symlink():
                continue
            if name.endswith(_SKIPPED_SUFFIXES) or relative.split("/")[0] in _SKIPPED_DIRS:
                continue
            if name == KEY_FILE and not include_key:
                continue
            seen.add(resolved)
            out.append((name, path))
    return out


def _read_consistently(path: Path) -> bytes:
    if path.suffix == ".sqlite3":
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "copy.sqlite3"
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            target = sqlite3.connect(copy)
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()
            return copy.read_bytes()
    return path.read_bytes()


def create(sources: Sources, output: Path, *, include_key: bool = False) -> dict[str, Any]:
    """Write the backup to `output` (atomically, 0600); returns the manifest."""
    files: dict[str, Any] = {}
    payloads: list[tuple[str, bytes]] = []
    for name, path in _members(sources, include_key):
        try:
            data = _read_consistently(path)
        except (OSError, sqlite3.Error) as exc:
            raise BackupError(f"cannot read {path}: {exc}") from None
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        payloads.append((name, data))
    manifest = {
        "format": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "gateway_version": __version__,
        "includes_master_key": include_key and KEY_FILE in files,
        "files": files,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=output.parent, prefix=".backup-")
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as archive:
                _add(archive, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
                for name, data in payloads:
                    _add(archive, name, data)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return manifest


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def restore(archive_path: Path, state_dir: Path) -> dict[str, Any]:
    """Restore into `state_dir` (empty or missing); returns the manifest."""
    if state_dir.exists() and any(state_dir.iterdir()):
        raise BackupError(f"{state_dir} is not empty: restore only into an empty or new directory")
    try:
        with tarfile.open(archive_path, mode="r:gz") as archive:
            contents = _read_all(archive)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise BackupError(f"{archive_path} is not a readable backup ({exc})") from None
    manifest = _check(contents, archive_path)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state_dir, 0o700)
    for name in manifest["files"]:
        target = state_dir / PurePosixPath(name)
        for parent in reversed(target.relative_to(state_dir).parents[:-1]):
            (state_dir / parent).mkdir(exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(contents[name])
            handle.flush()
            os.fsync(handle.fileno())
    return manifest


def _read_all(archive: tarfile.TarFile) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    for member in archive.getmembers():
        path = PurePosixPath(member.name)
        if not member.isfile() or path.is_absolute() or ".." in path.parts or member.name in contents:
            raise BackupError(f"the backup holds an entry that may not be restored: {member.name[:100]!r}")
        extracted = archive.extractfile(member)
        if extracted is None:
            raise BackupError(f"the backup's entry {member.name[:100]!r} cannot be read")
        contents[member.name] = extracted.read()
    return contents


def _check(contents: dict[str, bytes], archive_path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(contents.pop(MANIFEST))
    except (KeyError, ValueError):
        raise BackupError(f"{archive_path} has no readable {MANIFEST}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"{archive_path} is not a backup of format {FORMAT_VERSION}")
    files = manifest.get("files", {})
    if set(files) != set(contents):
        raise BackupError(f"{archive_path}: the files do not match the manifest")
    for name, data in contents.items():
        if hashlib.sha256(data).hexdigest() != files[name].get("sha256"):
            raise BackupError(f"{archive_path}: {name} does not match its checksum")
    return manifest
