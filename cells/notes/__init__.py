"""The `notes` cell: a persistent, per-principal note store with full-text search."""

from .cell import NotesCell

__all__ = ["NotesCell"]
