"""The `http` cell: fetch from allow-listed hosts, with credentials the model never sees."""

from .cell import HttpCell

__all__ = ["HttpCell"]
