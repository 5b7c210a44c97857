"""The jail's errors: a layer the host cannot apply, and a jail that could not start."""

from __future__ import annotations


class SandboxError(Exception):
    """Anything the jail raises on purpose."""


class LayerUnavailable(SandboxError):
    """A layer the profile requires cannot be applied on this host: the jail refuses to run."""
