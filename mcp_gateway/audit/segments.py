"""The log's files: `audit-000001.jsonl`, `audit-000002.jsonl`, ... in one directory. A file is
closed and the next begun when it reaches its size or age limit; the chain runs on across files
(the first line of a file chains from the last line of the one before)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

_NAME: Final = re.compile(r"^audit-(\d{6,})\.jsonl$")
FORMAT_FILE: Final = "FORMAT"
FORMAT_VERSION: Final = 1
"""The line format of chain.py. A log without a FORMAT file predates it (format 0)."""


def write_format(directory: Path) -> None:
    (directory / FORMAT_FILE).write_text(f"{FORMAT_VERSION}\n")
    os.chmod(directory / FORMAT_FILE, 0o600)


def read_format(directory: Path) -> int | None:
    """The log's format; 0 for a log from before FORMAT files; None when there is no log."""
    try:
        return int((directory / FORMAT_FILE).read_text().strip())
    except FileNotFoundError:
        return 0 if segments(directory) else None


def segment_name(number: int) -> str:
    return f"audit-{number:06d}.jsonl"


def segments(directory: Path) -> list[Path]:
    """The log's files in order (others in the directory are ignored)."""
    try:
        found = [(int(match.group(1)), path) for path in directory.iterdir() if (match := _NAME.match(path.name))]
    except FileNotFoundError:
        return []
    return [path for _, path in sorted(found)]


def number_of(path: Path) -> int:
    match = _NAME.match(path.name)
    if match is None:
        raise ValueError(f"{path.name} is not an audit file")
    return int(match.group(1))
