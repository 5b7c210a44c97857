"""Settings and tool input/output models of the notes cell.

Input models forbid unknown keys so that a misspelt argument fails loudly instead of being
silently ignored by the model that sent it.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_KEY_CHARS = 200
MAX_TAG_CHARS = 64
MAX_TAGS = 32
MAX_QUERY_CHARS = 1_000

# Keys and tags are identifiers that end up in prompts and logs: control, format (bidi
# overrides, zero-width) and line-separator characters there only serve to spoof or to break
# lines. Lone surrogates cannot be stored as UTF-8 at all.
_FORBIDDEN_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _plain_name(value: str) -> str:
    for char in value:
        if unicodedata.category(char) in _FORBIDDEN_IN_NAMES:
            raise ValueError(f"must not contain control or format characters (found U+{ord(char):04X})")
    return value


def _encodable(value: str) -> str:
    # JSON lets a client send lone surrogates ("\ud800"), which SQLite cannot store.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text (lone surrogates are not allowed)") from exc
    return value


NoteKey = Annotated[str, Field(min_length=1, max_length=MAX_KEY_CHARS), AfterValidator(_plain_name)]
Tag = Annotated[str, Field(min_length=1, max_length=MAX_TAG_CHARS), AfterValidator(_plain_name)]
NoteText = Annotated[str, AfterValidator(_encodable)]


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


class NotesSettings(BaseModel):
    """Configuration of the notes cell. A relative `database` path is taken relative to the
    cell's state directory."""

    model_config = ConfigDict(extra="forbid")

    database: Path | None = None
    max_note_bytes: int = Field(default=65_536, ge=1)
    max_notes_per_principal: int = Field(default=10_000, ge=1)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PutIn(_Input):
    key: NoteKey
    text: NoteText
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)] = []


class PutOut(BaseModel):
    key: str
    created: bool
    updated_at: datetime


class GetIn(_Input):
    key: NoteKey


class GetOut(BaseModel):
    key: str
    text: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class SearchIn(_Input):
    query: Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS), AfterValidator(_encodable)]
    limit: int = Field(default=20, ge=1, le=200)
    tag: Tag | None = None


class SearchHit(BaseModel):
    key: str
    snippet: str
    tags: list[str]
    updated_at: datetime
    score: float


class SearchOut(BaseModel):
    results: list[SearchHit]


class ListIn(_Input):
    # Keys hold no control characters, so a prefix with one could only ever match nothing.
    prefix: Annotated[str, Field(max_length=MAX_KEY_CHARS), AfterValidator(_plain_name)] = ""
    tag: Tag | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


class NoteSummary(BaseModel):
    key: str
    tags: list[str]
    updated_at: datetime
    size: int


class ListOut(BaseModel):
    notes: list[NoteSummary]
    total: int


class DeleteIn(_Input):
    key: NoteKey


class DeleteOut(BaseModel):
    key: str
    deleted: bool
