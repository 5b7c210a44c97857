"""The fs cell: file tools confined to one workspace directory."""

from .cell import FsCell

__all__ = ["FsCell"]
