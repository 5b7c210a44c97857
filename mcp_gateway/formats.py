"""The format versions of every file the gateway keeps, and their upgrades.

Each kept file says which format it is in: JSON files a top-level `"version"`, SQLite databases
their `user_version`, the audit log a `FORMAT` file, each secret its record's `version`. Cells
declare theirs (`Cell.stored_files`). At start the gateway refuses a file in a format it does
not know — older (run `mcp-gateway migrate`) or newer (a newer gateway wrote it) — with a
message that names the command to run; `migrate` (migrate.py) upgrades old ones.

Version 0 means "from before format versions": such files have today's layout and only need
their version recorded.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mcp_gateway.audit.segments import FORMAT_VERSION as AUDIT_FORMAT
from mcp_gateway.audit.segments import read_format, write_format
from mcp_gateway.budgets.store import FORMAT_VERSION as LEDGER_FORMAT
from mcp_gateway.errors import GatewayError
from mcp_gateway.pins import FORMAT_VERSION as PINS_FORMAT
from mcp_gateway.pins import PINS_FILE
from mcp_gateway.sdk import StoredFile

if TYPE_CHECKING:
    from mcp_gateway.config import Config

Kind = Literal["sqlite", "json", "audit", "secrets"]
TOKENS_FORMAT = 1
SECRETS_FORMAT = 1
MIGRATE_HINT = "run `mcp-gateway migrate --dry-run` to see the upgrade, then `mcp-gateway migrate`"


class FormatError(GatewayError):
    pass


@dataclass(frozen=True, slots=True)
class Kept:
    """One kept file (or directory) and what this gateway knows of its format."""

    name: str
    path: Path
    kind: Kind
    current: int
    migrations: Mapping[int, Callable[[Path], None]] = field(default_factory=dict)
    describe: Mapping[int, str] = field(default_factory=dict)

    def found_version(self) -> int | None:
        """The version on disk; None when the file does not exist (it will be made current)."""
        if not self.path.exists():
            return None
        try:
            return _readers[self.kind](self.path)
        except (OSError, ValueError, sqlite3.Error) as exc:
            raise FormatError(f"{self.name} ({self.path}) cannot be read to learn its format: {exc}") from None


def _sqlite_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def _json_version(path: Path) -> int:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return int(data.get("version", 0))


def _audit_version(path: Path) -> int:
    found = read_format(path)
    return AUDIT_FORMAT if found is None else found


def _secrets_version(path: Path) -> int:
    """The store's format: every record must share it (the oldest decides)."""
    versions = {_json_version(record) for record in path.glob("*.json")}
    return min(versions) if versions else SECRETS_FORMAT


_readers: dict[Kind, Callable[[Path], int]] = {
    "sqlite": _sqlite_version, "json": _json_version, "audit": _audit_version, "secrets": _secrets_version,
}  # fmt: skip


def _stamp_sqlite(version: int) -> Callable[[Path], None]:
    def stamp(path: Path) -> None:
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute(f"PRAGMA user_version = {version}")
            db.commit()

    return stamp


def _stamp_json(version: int) -> Callable[[Path], None]:
    def stamp(path: Path) -> None:
        data = json.loads(path.read_text())
        path.write_text(json.dumps({"version": version, **data}, indent=2, sort_keys=True) + "\n")

    return stamp


def kept_files(config: Config, cells: Sequence[Sequence[StoredFile]] = ()) -> list[Kept]:
    from mcp_gateway.identity.config import tokens_path

    state = config.server.state_dir
    recorded = "records the format version (the layout is unchanged)"
    kept = [
        Kept("token store", tokens_path(config), "json", TOKENS_FORMAT),
        Kept("upstream pins", state / PINS_FILE, "json", PINS_FORMAT, {0: _stamp_json(1)}, {0: recorded}),
        Kept("budget ledger", state / "budgets.sqlite3", "sqlite", LEDGER_FORMAT, {0: _stamp_sqlite(1)}, {0: recorded}),
        Kept("audit log", config.audit.log_dir(state), "audit", AUDIT_FORMAT, {0: write_format}, {0: recorded}),
        Kept("secret store", state / "secrets", "secrets", SECRETS_FORMAT),
    ]
    for files in cells:
        kept += [Kept(f.name, f.path, f.kind, f.version, dict(f.migrations), dict(f.describe)) for f in files]
    return kept


@dataclass(frozen=True, slots=True)
class Finding:
    kept: Kept
    found: int | None

    @property
    def state(self) -> Literal["current", "missing", "old", "newer"]:
        if self.found is None:
            return "missing"
        if self.found == self.kept.current:
            return "current"
        return "old" if self.found < self.kept.current else "newer"


def inspect(kept: Sequence[Kept]) -> list[Finding]:
    return [Finding(item, item.found_version()) for item in kept]


def require_current(kept: Sequence[Kept]) -> None:
    """Refuse to start on any kept file in a format this gateway does not run."""
    for finding in inspect(kept):
        item = finding.kept
        if finding.state == "old":
            raise FormatError(
                f"{item.name} ({item.path}) is in format {finding.found}; this gateway runs format {item.current}: "
                f"{MIGRATE_HINT}"
            )
        if finding.state == "newer":
            raise FormatError(
                f"{item.name} ({item.path}) is in format {finding.found}, newer than this gateway knows "
                f"({item.current}): run the newer mcp-gateway, or restore a backup made before the upgrade"
            )
