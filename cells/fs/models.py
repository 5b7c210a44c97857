"""Settings and the input/output models of the fs tools (their JSON schemas are what the model sees)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Encoding = Literal["utf-8", "base64"]
EntryType = Literal["file", "dir", "symlink", "other"]
WriteMode = Literal["overwrite", "append", "create"]

_PATH_HELP = "Path relative to the workspace root ('.' is the root itself). No absolute paths, no '..'."


class FsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: Path
    max_read_bytes: int = Field(1_048_576, ge=1)
    max_write_bytes: int = Field(1_048_576, ge=1)
    max_search_file_bytes: int = Field(2_097_152, ge=1)
    max_search_results: int = Field(200, ge=1)
    max_search_seconds: float = Field(5.0, gt=0, le=300)
    max_list_entries: int = Field(1000, ge=1)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListDirIn(_Input):
    path: str = Field(".", description=_PATH_HELP)
    include_hidden: bool = Field(False, description="Include entries whose name starts with '.'.")


class DirEntry(BaseModel):
    name: str
    type: EntryType
    size: int | None = Field(description="Size in bytes for regular files, null otherwise.")


class ListDirOut(BaseModel):
    path: str
    entries: list[DirEntry]
    truncated: bool


class ReadFileIn(_Input):
    path: str = Field(description=_PATH_HELP)
    offset: int | None = Field(None, ge=0, description="Byte offset to start reading at (byte range).")
    length: int | None = Field(None, ge=0, description="Number of bytes to read (byte range).")
    start_line: int | None = Field(None, ge=1, description="First line to return, 1-based (line range).")
    end_line: int | None = Field(None, ge=1, description="Last line to return, inclusive (line range).")
    encoding: Encoding = Field("utf-8", description="'utf-8' for text, 'base64' for binary files.")

    @model_validator(mode="after")
    def _one_kind_of_range(self) -> ReadFileIn:
        byte_range = self.offset is not None or self.length is not None
        line_range = self.start_line is not None or self.end_line is not None
        if byte_range and line_range:
            raise ValueError("give either a byte range (offset/length) or a line range (start_line/end_line), not both")
        if self.start_line is not None and self.end_line is not None and self.end_line < self.start_line:
            raise ValueError("end_line must not be before start_line")
        return self


class ReadFileOut(BaseModel):
    path: str
    content: str
    encoding: Encoding
    size: int = Field(description="Size of the whole file in bytes.")
    truncated: bool = Field(description="True when the read cap cut the content short of what was asked.")
    offset: int | None = None
    length: int | None = Field(None, description="Number of bytes actually returned.")
    start_line: int | None = None
    end_line: int | None = Field(None, description="Last line actually returned (possibly partial if truncated).")


class WriteFileIn(_Input):
    path: str = Field(description=_PATH_HELP)
    content: str
    encoding: Encoding = Field("utf-8", description="How `content` is encoded: 'utf-8' text or 'base64' bytes.")
    mode: WriteMode = Field(
        "overwrite",
        description="'overwrite' replaces the file atomically, 'append' adds to its end, "
        "'create' fails if the file already exists.",
    )
    create_parents: bool = Field(False, description="Create missing parent directories.")


class WriteFileOut(BaseModel):
    path: str
    bytes_written: int


class SearchIn(_Input):
    query: str = Field(min_length=1, description="Text to find, or a Python regular expression if `regex`.")
    path: str = Field(".", description=_PATH_HELP + " A directory (searched recursively) or a file.")
    glob: str = Field(
        "*",
        description="File name pattern such as '*.py'; a pattern containing '/' is matched against the "
        "path relative to `path` instead.",
    )
    regex: bool = False
    case_sensitive: bool = False
    max_results: int | None = Field(None, ge=1, description="Stop after this many matches (capped by the server).")


class SearchMatch(BaseModel):
    path: str
    line: int
    text: str


class SearchOut(BaseModel):
    matches: list[SearchMatch]
    truncated: bool
    files_scanned: int


class StatIn(_Input):
    path: str = Field(description=_PATH_HELP)


class StatOut(BaseModel):
    path: str
    type: EntryType
    size: int
    modified: str = Field(description="Last modification time, ISO 8601 in UTC.")
    mode: str = Field(description="Permission bits in octal, e.g. '0644'.")
