"""Describing directory entries: listing a directory and stat-ing one path."""

from __future__ import annotations

import heapq
import os
import stat
from datetime import UTC, datetime

from .confine import RelPath, Workspace, os_error
from .models import DirEntry, EntryType, ListDirOut, StatOut


def entry_type(mode: int) -> EntryType:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def list_dir(workspace: Workspace, path: RelPath, *, include_hidden: bool, limit: int) -> ListDirOut:
    try:
        dir_fd = workspace.open_dir(path)
    except OSError as exc:
        raise os_error(exc, path) from None
    try:
        with os.scandir(dir_fd) as it:
            visible = (e for e in it if include_hidden or not e.name.startswith("."))
            # Keep only the first `limit + 1` names in memory, however large the directory.
            chosen = heapq.nsmallest(limit + 1, visible, key=lambda e: e.name)
        entries = [_describe(entry) for entry in chosen[:limit]]
    except OSError as exc:
        raise os_error(exc, path) from None
    finally:
        os.close(dir_fd)
    return ListDirOut(path=path.shown, entries=entries, truncated=len(chosen) > limit)


def _describe(entry: os.DirEntry[str]) -> DirEntry:
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError:
        # Gone or unreadable since the listing was read: fall back on the type the listing gave.
        kind: EntryType = "other"
        if entry.is_symlink():
            kind = "symlink"
        elif entry.is_dir(follow_symlinks=False):
            kind = "dir"
        elif entry.is_file(follow_symlinks=False):
            kind = "file"
        return DirEntry(name=entry.name, type=kind, size=None)
    kind = entry_type(st.st_mode)
    return DirEntry(name=entry.name, type=kind, size=st.st_size if kind == "file" else None)


def stat_path(workspace: Workspace, path: RelPath) -> StatOut:
    """Describe `path` itself: a final symlink is reported as a symlink, not followed."""
    try:
        fd = workspace.open_path(path, follow_final=False)
    except OSError as exc:
        raise os_error(exc, path) from None
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return StatOut(
        path=path.shown,
        type=entry_type(st.st_mode),
        size=st.st_size,
        modified=datetime.fromtimestamp(st.st_mtime, UTC).isoformat(),
        mode=f"{stat.S_IMODE(st.st_mode):04o}",
    )
