"""Finding notes by words: SQLite FTS5 when the library has it, a substring scan when not.

Both indexes only answer "which notes in this scope contain this word"; ranking is done
here, from statistics of the scope alone (the caller's own notes). FTS5's `bm25()` weighs a
word by how often it occurs across the whole table, that is across every principal's notes,
so its scores, and even the order of results, would let one principal probe for words in
another's notes.

User text never reaches FTS5 as query syntax: each word is sent as a quoted phrase.
"""

from __future__ import annotations

import math
import re
import sqlite3
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MAX_TERMS = 32
SNIPPET_MARK = "**"
_SNIPPET_CHARS = 160

# A scope is a trusted SQL condition over the `notes` table aliased `n`, plus its parameters.
Scope = tuple[str, Sequence[object]]
# Note id -> its `updated_at`, which breaks ties between equally scored notes.
Matches = dict[int, str]


@dataclass(frozen=True, slots=True)
class IndexedNote:
    """The columns of a note that an index reads, exactly as stored in `notes`."""

    id: int
    key: str
    text: str
    tags: str


class SearchIndex(Protocol):
    """How the store keeps a word index in step with `notes` and asks it for matches."""

    @property
    def name(self) -> str: ...

    def prepare(self, conn: sqlite3.Connection, *, rebuild: bool) -> None: ...

    def add(self, conn: sqlite3.Connection, note: IndexedNote) -> None: ...

    def remove(self, conn: sqlite3.Connection, note: IndexedNote) -> None: ...

    def matching(self, conn: sqlite3.Connection, scope: Scope, term: str) -> Matches: ...

    def snippets(self, conn: sqlite3.Connection, ids: Sequence[int], terms: Sequence[str]) -> dict[int, str]: ...


def query_terms(query: str) -> list[str]:
    """The distinct words of a query, at most `MAX_TERMS` of them. Control and format
    characters separate words: FTS5 rejects a query containing NUL, for one."""
    cleaned = "".join(" " if unicodedata.category(char) in ("Cc", "Cf") else char for char in query)
    return list(dict.fromkeys(cleaned.split()))[:MAX_TERMS]


def rank(matches: Sequence[Matches], population: int) -> list[tuple[int, float]]:
    """Notes that match any term, best first: each matched term adds its BM25 inverse
    document frequency over `population`, the number of notes in scope."""
    scores: dict[int, float] = {}
    updated: Matches = {}
    for found in matches:
        if not found:
            continue
        frequency = len(found)
        weight = math.log(1 + (population - frequency + 0.5) / (frequency + 0.5))
        for note_id, updated_at in found.items():
            scores[note_id] = scores.get(note_id, 0.0) + weight
            updated[note_id] = updated_at
    ordered = sorted(scores, key=lambda note_id: (scores[note_id], updated[note_id]), reverse=True)
    return [(note_id, round(scores[note_id], 6)) for note_id in ordered]


def fts5_available() -> bool:
    """Whether this process's SQLite library was built with FTS5."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE temp.probe USING fts5(body)")
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
    return True


def default_index() -> SearchIndex:
    return FtsIndex() if fts5_available() else SubstringIndex()


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


class FtsIndex:
    """An external-content FTS5 table over `notes`, kept in step by the store's writes."""

    name = "fts5"

    def prepare(self, conn: sqlite3.Connection, *, rebuild: bool) -> None:
        conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS notes_fts USING fts5("
            "key, text, tags, content='notes', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        if rebuild:
            conn.execute("INSERT INTO notes_fts(notes_fts) VALUES ('rebuild')")

    def add(self, conn: sqlite3.Connection, note: IndexedNote) -> None:
        conn.execute(
            "INSERT INTO notes_fts(rowid, key, text, tags) VALUES (?, ?, ?, ?)",
            (note.id, note.key, note.text, note.tags),
        )

    def remove(self, conn: sqlite3.Connection, note: IndexedNote) -> None:
        # An external-content table forgets a row only when given the values it indexed.
        conn.execute(
            "INSERT INTO notes_fts(notes_fts, rowid, key, text, tags) VALUES ('delete', ?, ?, ?, ?)",
            (note.id, note.key, note.text, note.tags),
        )

    def matching(self, conn: sqlite3.Connection, scope: Scope, term: str) -> Matches:
        condition, params = scope
        rows = conn.execute(
            "SELECT n.id, n.updated_at FROM notes_fts JOIN notes AS n ON n.id = notes_fts.rowid "
            f"WHERE notes_fts MATCH ? AND {condition}",
            (_phrase(term), *params),
        )
        return dict(rows.fetchall())

    def snippets(self, conn: sqlite3.Connection, ids: Sequence[int], terms: Sequence[str]) -> dict[int, str]:
        rows = conn.execute(
            f"SELECT rowid, snippet(notes_fts, 1, '{SNIPPET_MARK}', '{SNIPPET_MARK}', '…', 24) FROM notes_fts "
            f"WHERE notes_fts MATCH ? AND rowid IN ({_placeholders(len(ids))})",
            (" OR ".join(_phrase(term) for term in terms), *ids),
        )
        return dict(rows.fetchall())


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class SubstringIndex:
    """No index at all: a case-insensitive substring scan of the notes in scope. Slower, and
    without word stemming, but it needs nothing beyond core SQLite."""

    name = "substring"

    def prepare(self, conn: sqlite3.Connection, *, rebuild: bool) -> None:
        # SQLite's own LIKE and lower() fold ASCII only.
        conn.create_function("notes_contains", 2, _contains, deterministic=True)

    def add(self, conn: sqlite3.Connection, note: IndexedNote) -> None:
        pass

    def remove(self, conn: sqlite3.Connection, note: IndexedNote) -> None:
        pass

    def matching(self, conn: sqlite3.Connection, scope: Scope, term: str) -> Matches:
        condition, params = scope
        rows = conn.execute(
            "SELECT n.id, n.updated_at FROM notes AS n "
            f"WHERE {condition} AND notes_contains(n.key || ' ' || n.text || ' ' || n.tags, ?)",
            (*params, term),
        )
        return dict(rows.fetchall())

    def snippets(self, conn: sqlite3.Connection, ids: Sequence[int], terms: Sequence[str]) -> dict[int, str]:
        rows = conn.execute(f"SELECT id, text FROM notes WHERE id IN ({_placeholders(len(ids))})", tuple(ids))
        pattern = re.compile("|".join(re.escape(term) for term in terms), re.IGNORECASE)
        return {note_id: _snippet(text, pattern) for note_id, text in rows.fetchall()}


def _contains(haystack: str | None, needle: str | None) -> bool:
    return haystack is not None and needle is not None and needle.casefold() in haystack.casefold()


def _snippet(text: str, pattern: re.Pattern[str]) -> str:
    found = pattern.search(text)
    if found is None:
        return text[:_SNIPPET_CHARS] + ("…" if len(text) > _SNIPPET_CHARS else "")
    start = max(0, found.start() - _SNIPPET_CHARS // 2)
    end = min(len(text), start + _SNIPPET_CHARS)
    return (
        ("…" if start > 0 else "")
        + text[start : found.start()]
        + SNIPPET_MARK
        + found.group()
        + SNIPPET_MARK
        + text[found.end() : end]
        + ("…" if end < len(text) else "")
    )
