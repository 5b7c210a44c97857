"""The `exec` cell: run a Python snippet or a command, always in the jail."""

from cells.exec.cell import ExecCell

__all__ = ["ExecCell"]
