"""A SQLite store of notes, each owned by one (domain, name) pair.

Every method is blocking and thread-safe: one connection serves all threads, one call at a
time, each inside its own transaction. Every query is scoped to an owner, so no method can
reach another owner's notes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from .search import IndexedNote, Scope, SearchIndex, default_index, query_terms, rank

FORMAT_VERSION = 1
"""The notes database's format (SQLite `user_version`); the gateway refuses to start on another."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL,
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    text TEXT NOT NULL,
    tags TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (domain, principal, key)
);
CREATE TABLE IF NOT EXISTS note_tags (
    note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (note_id, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS note_tags_by_tag ON note_tags (tag, note_id);
"""


class StoreError(Exception):
    """The store cannot do what was asked."""


class NoteLimitError(StoreError):
    """The owner already has as many notes as allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"owner already has the maximum of {limit} notes")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Owner:
    domain: str
    name: str


@dataclass(frozen=True, slots=True)
class Note:
    key: str
    text: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NoteInfo:
    key: str
    tags: list[str]
    updated_at: datetime
    size: int


@dataclass(frozen=True, slots=True)
class Hit:
    key: str
    snippet: str
    tags: list[str]
    updated_at: datetime
    score: float


@dataclass(frozen=True, slots=True)
class PutResult:
    created: bool
    updated_at: datetime


def _timestamp() -> str:
    # Fixed width, so that text order is time order.
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _scope(owner: Owner, tag: str | None = None, prefix: str = "") -> Scope:
    condition = "n.domain = ? AND n.principal = ?"
    params: list[object] = [owner.domain, owner.name]
    if tag is not None:
        condition += " AND EXISTS (SELECT 1 FROM note_tags AS t WHERE t.note_id = n.id AND t.tag = ?)"
        params.append(tag)
    if prefix:
        # LIKE would fold case and treat % and _ as wildcards; a prefix is matched exactly.
        condition += " AND substr(n.key, 1, ?) = ?"
        params += [len(prefix), prefix]
    return condition, params


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    # SQLite gives its -wal and -shm files the mode of the database file; older copies of
    # them, and a database created by someone else, may be more open than that.
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            candidate.chmod(0o600)


class NoteStore:
    """Notes in one SQLite file. Build it with `NoteStore.open`."""

    def __init__(self, conn: sqlite3.Connection, index: SearchIndex) -> None:
        self._conn = conn
        self._index = index
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, index: SearchIndex | None = None) -> NoteStore:
        """Open or create the database at `path` (mode 0600, WAL). `index` defaults to FTS5
        when SQLite has it; switching indexes on an existing file is safe."""
        _create_private_file(path)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            store = cls(conn, index or default_index())
            store._prepare()
        except BaseException:
            conn.close()
            raise
        return store

    @property
    def index_name(self) -> str:
        return self._index.name

    def _prepare(self) -> None:
        conn = self._conn
        conn.execute("PRAGMA busy_timeout = 5000")
        (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode != "wal":
            raise StoreError(f"cannot switch the database to WAL mode (it stays in {mode!r} mode)")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        fresh = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        conn.executescript(_SCHEMA)
        if fresh:  # the format version `mcp-gateway migrate` reads; an old file keeps its own
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        with self._transaction("IMMEDIATE"):
            # Another index kept the word index out of step while it was in charge, if at all.
            row = conn.execute("SELECT value FROM meta WHERE name = 'search_index'").fetchone()
            self._index.prepare(conn, rebuild=row is None or row[0] != self._index.name)
            conn.execute(
                "INSERT INTO meta (name, value) VALUES ('search_index', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (self._index.name,),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self, kind: Literal["DEFERRED", "IMMEDIATE"]) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute(f"BEGIN {kind}")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def put(self, owner: Owner, key: str, text: str, tags: Sequence[str], *, max_notes: int) -> PutResult:
        """Create or replace the owner's note `key`. Raises `NoteLimitError` when creating
        it would give the owner more than `max_notes` notes."""
        unique_tags = list(dict.fromkeys(tags))
        tags_json = json.dumps(unique_tags, ensure_ascii=False)
        now = _timestamp()
        with self._transaction("IMMEDIATE") as conn:
            old = _indexed_note(conn, owner, key)
            if old is None:
                (count,) = conn.execute(
                    "SELECT count(*) FROM notes WHERE domain = ? AND principal = ?", (owner.domain, owner.name)
                ).fetchone()
                if count >= max_notes:
                    raise NoteLimitError(max_notes)
                cursor = conn.execute(
                    "INSERT INTO notes (domain, principal, key, text, tags, size, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (owner.domain, owner.name, key, text, tags_json, len(text.encode()), now, now),
                )
                note_id = cursor.lastrowid
                assert note_id is not None
            else:
                note_id = old.id
                self._index.remove(conn, old)
                conn.execute(
                    "UPDATE notes SET text = ?, tags = ?, size = ?, updated_at = ? WHERE id = ?",
                    (text, tags_json, len(text.encode()), now, note_id),
                )
                conn.execute("DELETE FROM note_tags WHERE note_id = ?", (note_id,))
            conn.executemany(
                "INSERT INTO note_tags (note_id, tag) VALUES (?, ?)", [(note_id, tag) for tag in unique_tags]
            )
            self._index.add(conn, IndexedNote(note_id, key, text, tags_json))
        return PutResult(created=old is None, updated_at=datetime.fromisoformat(now))

    def get(self, owner: Owner, key: str) -> Note | None:
        with self._transaction("DEFERRED") as conn:
            row = conn.execute(
                "SELECT key, text, tags, created_at, updated_at FROM notes "
                "WHERE domain = ? AND principal = ? AND key = ?",
                (owner.domain, owner.name, key),
            ).fetchone()
        if row is None:
            return None
        key, text, tags, created_at, updated_at = row
        return Note(key, text, json.loads(tags), datetime.fromisoformat(created_at), datetime.fromisoformat(updated_at))

    def delete(self, owner: Owner, key: str) -> bool:
        with self._transaction("IMMEDIATE") as conn:
            old = _indexed_note(conn, owner, key)
            if old is None:
                return False
            self._index.remove(conn, old)
            conn.execute("DELETE FROM notes WHERE id = ?", (old.id,))
        return True

    def list_notes(
        self, owner: Owner, *, prefix: str = "", tag: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[NoteInfo], int]:
        """One page of the owner's notes in key order, and how many notes match in all."""
        condition, params = _scope(owner, tag, prefix)
        with self._transaction("DEFERRED") as conn:
            rows = conn.execute(
                f"SELECT n.key, n.tags, n.updated_at, n.size FROM notes AS n WHERE {condition} "
                "ORDER BY n.key LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
            (total,) = conn.execute(f"SELECT count(*) FROM notes AS n WHERE {condition}", params).fetchone()
        notes = [
            NoteInfo(key, json.loads(tags), datetime.fromisoformat(updated_at), size)
            for key, tags, updated_at, size in rows
        ]
        return notes, total

    def search(self, owner: Owner, query: str, *, tag: str | None = None, limit: int = 20) -> list[Hit]:
        """The owner's notes containing any word of `query`, best first."""
        terms = query_terms(query)
        if not terms:
            return []
        scope = _scope(owner, tag)
        with self._transaction("DEFERRED") as conn:
            (population,) = conn.execute(f"SELECT count(*) FROM notes AS n WHERE {scope[0]}", scope[1]).fetchone()
            ranked = rank([self._index.matching(conn, scope, term) for term in terms], population)[:limit]
            if not ranked:
                return []
            ids = [note_id for note_id, _ in ranked]
            snippets = self._index.snippets(conn, ids, terms)
            rows = conn.execute(
                f"SELECT id, key, tags, updated_at FROM notes WHERE id IN ({', '.join('?' * len(ids))})", ids
            ).fetchall()
        by_id = {note_id: (key, tags, updated_at) for note_id, key, tags, updated_at in rows}
        return [
            Hit(
                key=by_id[note_id][0],
                snippet=snippets.get(note_id, ""),
                tags=json.loads(by_id[note_id][1]),
                updated_at=datetime.fromisoformat(by_id[note_id][2]),
                score=score,
            )
            for note_id, score in ranked
        ]


def _indexed_note(conn: sqlite3.Connection, owner: Owner, key: str) -> IndexedNote | None:
    """The owner's note `key` as the search index knows it, or None."""
    row = conn.execute(
        "SELECT id, key, text, tags FROM notes WHERE domain = ? AND principal = ? AND key = ?",
        (owner.domain, owner.name, key),
    ).fetchone()
    return IndexedNote(*row) if row is not None else None
