"""A tool as the gateway exposes it, whatever its source (in-process cell, jailed cell, upstream)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp_gateway.sdk import Risk

ArgumentValidator = Callable[[Mapping[str, Any]], dict[str, Any]]
"""Checks arguments against the tool's input schema and returns them normalised; raises
`InvalidArguments` with a message naming each bad field."""


@dataclass(frozen=True, slots=True)
class ToolEntry:
    canonical: str
    wire: str
    description: str
    input_schema: Mapping[str, Any]
    output_schema: Mapping[str, Any] | None
    risk: Risk
    cost: int
    version: str
    address: str
    """Where the bus delivers calls to this tool (the namespace of its host)."""
    validate: ArgumentValidator = field(compare=False, repr=False)
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    timeout: float = 30.0
    fallback: str | None = None
    """Canonical name of the cheaper tool that takes over when this one's cost budget is spent."""

    @property
    def namespace(self) -> str:
        return self.canonical.partition(".")[0]
