"""What the DLP scanner works on and what it reports.

A `Leaf` is one scannable string inside a JSON value or a tool result, named by its JSON path
(`$.user.email`, `$.items[2]`, `content[0].text`, `structuredContent.rows[1].name`). A
`Finding` is one recognised entity inside one leaf: its type, where it is (the path and the
character span in the leaf's original text), its score and the recognizer that found it.
A finding never carries the matched value itself: it goes to spans and audit records as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

LeafKind = Literal["value", "key"]


@dataclass(frozen=True, slots=True)
class Leaf:
    path: str
    """JSON path of the string; for a key, the path of the object that holds it plus the key."""
    text: str
    kind: LeafKind = "value"
    """"key" when the string is an object key rather than a value (keys can carry PII too)."""


@dataclass(frozen=True, slots=True)
class Finding:
    entity: str
    path: str
    start: int
    end: int
    """The span in the leaf's original text (before unicode normalisation)."""
    score: float
    recognizer: str


class Scanner(Protocol):
    """Finds entities in leaves (see scanner.py for the two implementations)."""

    def scan(self, leaves: Sequence[Leaf]) -> list[Finding]: ...
