"""`mcp-gateway migrate`: upgrade kept files to the formats this gateway runs.

A dry run copies every file that needs an upgrade into a scratch directory, upgrades the copy
step by step (n -> n + 1), checks that the copy now reads as the current format (and, for a
database, that SQLite's integrity check passes), and reports; the originals are not touched. A
real run first writes a backup of the state dir (backup.py), then does the same and swaps each
checked copy in with an atomic rename.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mcp_gateway.formats import FormatError, Kept, inspect


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    path: Path
    found: int
    target: int
    changes: tuple[str, ...]


def plan(kept: list[Kept]) -> list[Step]:
    """The upgrades needed; `FormatError` for a file that is newer or has no path up."""
    steps = []
    for finding in inspect(kept):
        item = finding.kept
        if finding.state == "newer":
            raise FormatError(f"{item.name} ({item.path}) is in format {finding.found}, newer than this gateway knows")
        if finding.state != "old" or finding.found is None:
            continue
        missing = [n for n in range(finding.found, item.current) if n not in item.migrations]
        if missing:
            raise FormatError(f"{item.name}: no upgrade from format {missing[0]} is known")
        changes = tuple(item.describe.get(n, f"format {n} -> {n + 1}") for n in range(finding.found, item.current))
        steps.append(Step(item.name, item.path, finding.found, item.current, changes))
    return steps


def _upgrade_copy(item: Kept, found: int, scratch: Path) -> Path:
    copy = scratch / item.path.name
    if item.path.is_dir():
        shutil.copytree(item.path, copy)
    elif item.kind == "sqlite":
        # SQLite's own backup: what is still in the write-ahead log comes along.
        with (
            contextlib.closing(sqlite3.connect(f"file:{item.path}?mode=ro", uri=True)) as source,
            contextlib.closing(sqlite3.connect(copy)) as target,
        ):
            source.backup(target)
        os.chmod(copy, 0o600)
    else:
        shutil.copy2(item.path, copy)
    for version in range(found, item.current):
        item.migrations[version](copy)
    checked = Kept(item.name, copy, item.kind, item.current)
    if checked.found_version() != item.current:
        raise FormatError(f"{item.name}: the upgraded copy does not read as format {item.current}")
    if item.kind == "sqlite":
        with contextlib.closing(sqlite3.connect(copy)) as db:
            if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise FormatError(f"{item.name}: the upgraded copy fails SQLite's integrity check")
    return copy


def dry_run(kept: list[Kept]) -> list[Step]:
    steps = plan(kept)
    by_path = {item.path: item for item in kept}
    with tempfile.TemporaryDirectory(prefix="mcp-gateway-migrate-") as scratch:
        for index, step in enumerate(steps):
            place = Path(scratch) / str(index)
            place.mkdir()
            _upgrade_copy(by_path[step.path], step.found, place)
    return steps


def apply(kept: list[Kept]) -> list[Step]:
    """Upgrade in place (after the caller made a backup): each file is swapped in whole."""
    steps = plan(kept)
    by_path = {item.path: item for item in kept}
    for step in steps:
        item = by_path[step.path]
        scratch = Path(tempfile.mkdtemp(prefix=".migrate-", dir=item.path.parent))
        try:
            upgraded = _upgrade_copy(item, step.found, scratch)
            if item.path.is_dir():
                aside = item.path.with_name(item.path.name + ".pre-migrate")
                os.replace(item.path, aside)
                os.replace(upgraded, item.path)
                shutil.rmtree(aside)
            else:
                os.replace(upgraded, item.path)
                for leftover in ("-wal", "-shm"):  # the copy took in the log; the old one must not replay
                    Path(f"{item.path}{leftover}").unlink(missing_ok=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return steps
