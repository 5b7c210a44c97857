"""The notes cell: a persistent, private note store an LLM uses as its long-term memory.

Notes belong to the calling principal (its name within its domain); no tool takes an owner
argument, so no caller can name someone else's notes.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import ClassVar

import anyio.to_thread
from pydantic import BaseModel

from mcp_gateway.sdk import Cell, CellContext, StoredFile, ToolError, tool

from .models import (
    MAX_KEY_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    DeleteIn,
    DeleteOut,
    GetIn,
    GetOut,
    ListIn,
    ListOut,
    NotesSettings,
    NoteSummary,
    PutIn,
    PutOut,
    SearchHit,
    SearchIn,
    SearchOut,
)
from .search import MAX_TERMS, SNIPPET_MARK
from .store import FORMAT_VERSION, NoteLimitError, NoteStore, Owner

_DEFAULTS = NotesSettings()


def _owner(ctx: CellContext) -> Owner:
    return Owner(domain=ctx.principal.domain, name=ctx.principal.name)


class NotesCell(Cell):
    namespace = "notes"
    version = "1.0.0"
    Settings: ClassVar[type[BaseModel]] = NotesSettings

    def __init__(self, settings: BaseModel, state_dir: Path) -> None:
        if not isinstance(settings, NotesSettings):
            raise TypeError(f"NotesCell takes NotesSettings, not {type(settings).__name__}")
        super().__init__(settings, state_dir)
        self._config = settings
        self._store: NoteStore | None = None

    @property
    def database_path(self) -> Path:
        configured = self._config.database
        if configured is None:
            return self.state_dir / "notes.sqlite3"
        return configured if configured.is_absolute() else self.state_dir / configured

    def stored_files(self) -> Sequence[StoredFile]:
        return (
            StoredFile(
                "notes database",
                self.database_path,
                "sqlite",
                FORMAT_VERSION,
                migrations={0: _stamp_version},
                describe={0: "records the format version (the schema is unchanged)"},
            ),
        )

    async def start(self) -> None:
        self._store = await anyio.to_thread.run_sync(NoteStore.open, self.database_path)

    async def stop(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            await anyio.to_thread.run_sync(store.close)

    @property
    def store(self) -> NoteStore:
        if self._store is None:
            raise RuntimeError("the notes cell is not started")
        return self._store

    @tool(
        description=(
            "Save a note in your private, persistent memory under `key`. If you already have a note with "
            "that key, its text and tags are replaced. Notes survive across conversations and only you can "
            "read them. Use short descriptive keys (e.g. 'user/preferences/editor') so they are easy to list "
            f"by prefix. Limits: key 1-{MAX_KEY_CHARS} characters, no control characters; text at most "
            f"{_DEFAULTS.max_note_bytes} bytes of UTF-8 unless configured otherwise (split longer content "
            f"into several notes); up to {MAX_TAGS} tags of 1-{MAX_TAG_CHARS} characters; at most "
            f"{_DEFAULTS.max_notes_per_principal} notes in all unless configured otherwise. Returns `created` "
            "(false when an existing note was replaced) and `updated_at` (ISO 8601, UTC)."
        ),
        destructive=True,
        idempotent=True,
    )
    async def put(self, args: PutIn, ctx: CellContext) -> PutOut:
        size = len(args.text.encode("utf-8"))
        if size > self._config.max_note_bytes:
            raise ToolError(
                f"text is {size} bytes of UTF-8; a note holds at most {self._config.max_note_bytes} bytes. "
                "Split it into several notes."
            )
        save = partial(
            self.store.put, _owner(ctx), args.key, args.text, args.tags, max_notes=self._config.max_notes_per_principal
        )
        try:
            result = await anyio.to_thread.run_sync(save)
        except NoteLimitError as exc:
            raise ToolError(
                f"you already have the maximum of {exc.limit} notes; delete some or replace an existing note"
            ) from exc
        return PutOut(key=args.key, created=result.created, updated_at=result.updated_at)

    @tool(
        description=(
            "Read one of your notes by its exact key (case-sensitive). Returns its full text, tags, and "
            "`created_at`/`updated_at` (ISO 8601, UTC). Fails if you have no note with that key; use the "
            "search or list tool to find keys."
        ),
        read_only=True,
        idempotent=True,
    )
    async def get(self, args: GetIn, ctx: CellContext) -> GetOut:
        note = await anyio.to_thread.run_sync(self.store.get, _owner(ctx), args.key)
        if note is None:
            raise ToolError(f"no note named {args.key!r}")
        return GetOut(
            key=note.key, text=note.text, tags=note.tags, created_at=note.created_at, updated_at=note.updated_at
        )

    @tool(
        description=(
            "Search your notes' keys, text and tags for words. The query is plain words: operators, quotes "
            "and wildcards have no special meaning. Matching ignores case; a note matches if it contains any "
            "of the words, and notes containing more of them, and rarer ones, rank first. Only the first "
            f"{MAX_TERMS} distinct words are used. `tag` keeps only notes carrying that exact tag. Returns up "
            "to `limit` results (1-200, default 20), best first, each with its key, tags, `updated_at`, a "
            f"`score` (higher is better) and a short `snippet` of the text with matched words wrapped in "
            f"{SNIPPET_MARK}. Use the get tool to read a whole note."
        ),
        read_only=True,
        idempotent=True,
    )
    async def search(self, args: SearchIn, ctx: CellContext) -> SearchOut:
        find = partial(self.store.search, _owner(ctx), args.query, tag=args.tag, limit=args.limit)
        hits = await anyio.to_thread.run_sync(find)
        return SearchOut(
            results=[
                SearchHit(key=hit.key, snippet=hit.snippet, tags=hit.tags, updated_at=hit.updated_at, score=hit.score)
                for hit in hits
            ]
        )

    @tool(
        name="list",
        description=(
            "List your notes in key order, without their text: each with its key, tags, `updated_at` "
            "(ISO 8601, UTC) and `size` in bytes. `prefix` keeps only keys starting with it (case-sensitive); "
            "`tag` keeps only notes carrying that exact tag. Returns one page of `limit` notes (1-200, "
            "default 50) starting at `offset`, and `total`, the number of matching notes; page on by raising "
            "`offset` while it is below `total`."
        ),
        read_only=True,
        idempotent=True,
    )
    async def list_notes(self, args: ListIn, ctx: CellContext) -> ListOut:
        page = partial(
            self.store.list_notes, _owner(ctx), prefix=args.prefix, tag=args.tag, limit=args.limit, offset=args.offset
        )
        notes, total = await anyio.to_thread.run_sync(page)
        return ListOut(
            notes=[
                NoteSummary(key=note.key, tags=note.tags, updated_at=note.updated_at, size=note.size) for note in notes
            ],
            total=total,
        )

    @tool(
        description=(
            "Permanently delete one of your notes by its exact key; this cannot be undone. Returns "
            "`deleted`: false if you had no note with that key (not an error)."
        ),
        destructive=True,
        idempotent=True,
    )
    async def delete(self, args: DeleteIn, ctx: CellContext) -> DeleteOut:
        deleted = await anyio.to_thread.run_sync(self.store.delete, _owner(ctx), args.key)
        return DeleteOut(key=args.key, deleted=deleted)


def _stamp_version(path: Path) -> None:
    """0 -> 1: databases from before format versions have the same schema; say so."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        db.commit()
