"""Load-time checks of fallbacks: the cheaper tool a call is rewritten to when its cost is spent.

The budget stage hands the caller's arguments to the fallback unchanged, so the fallback must
accept exactly the same arguments. It must also be strictly cheaper, which is what makes it a
fallback at all and guarantees that following fallbacks from tool to tool ends (no cycles).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp_gateway.errors import CellLoadError
from mcp_gateway.tools import ToolEntry

# Keywords whose value maps names to schemas: their keys are names, never schema keywords.
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
# Annotations change no validation outcome, and pydantic derives them from class names and
# docstrings: two cells cannot share a model class, yet may accept the very same arguments.
_ANNOTATIONS = frozenset({"title", "description", "examples", "$comment"})


def _validation_only(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_validation_only(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    stripped: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key in _NAMED_SCHEMAS and isinstance(value, Mapping):
            stripped[key] = {name: _validation_only(sub) for name, sub in value.items()}
        else:
            stripped[key] = _validation_only(value)
    return stripped


def same_arguments(a: ToolEntry, b: ToolEntry) -> bool:
    """Whether the two tools accept exactly the same arguments (annotations aside)."""
    same: bool = _validation_only(a.input_schema) == _validation_only(b.input_schema)
    return same


def validate_fallbacks(tools: Mapping[str, ToolEntry]) -> None:
    """Raise CellLoadError unless every declared fallback (tools by canonical name) exists,
    takes the same arguments and costs strictly less than the tool that names it."""
    for entry in tools.values():
        if entry.fallback is None:
            continue
        fallback = tools.get(entry.fallback)
        prefix = f"tool {entry.canonical!r} falls back to {entry.fallback!r}"
        if fallback is None:
            raise CellLoadError(f"{prefix}, which is not a loaded tool")
        if not same_arguments(entry, fallback):
            raise CellLoadError(f"{prefix}, which takes different arguments (input schemas differ)")
        if fallback.cost >= entry.cost:
            raise CellLoadError(f"{prefix}, which is not cheaper ({fallback.cost} >= {entry.cost} cost units)")
