"""A fallback is checked when the tools load: it exists, takes the same arguments, costs less."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from mcp_gateway.config import CellConfig
from mcp_gateway.errors import CellLoadError
from mcp_gateway.registry import LoadedCell, Registry, tool_entries
from mcp_gateway.sdk import Cell, CellContext, NoSettings, tool
from tests.budgets.support import entry


class AskIn(BaseModel):
    question: str
    depth: int = 1


class QueryIn(BaseModel):
    """Another model, in another cell's style, with the very same fields."""

    question: str
    depth: int = 1


class Answer(BaseModel):
    text: str


class Oracle(Cell):
    namespace = "oracle"
    version = "1.0.0"

    @tool(description="Think hard.", cost=50, fallback="oracle.quick")
    async def deep(self, args: AskIn, ctx: CellContext) -> Answer:
        return Answer(text="deep")

    @tool(description="Think fast.", cost=2)
    async def quick(self, args: QueryIn, ctx: CellContext) -> Answer:
        return Answer(text="quick")


def test_a_cell_declares_its_fallback_and_the_registry_accepts_it(tmp_path: Path) -> None:
    loaded = LoadedCell(Oracle(NoSettings(), tmp_path), CellConfig(module="tests.budgets.test_fallbacks:Oracle"))
    registry = Registry(tool_entries(loaded, "__"))
    deep = registry.by_canonical("oracle.deep")
    assert deep is not None and deep.fallback == "oracle.quick"


def test_a_fallback_must_be_a_canonical_name() -> None:
    with pytest.raises(ValueError, match="canonical name"):
        tool(fallback="quick")


@pytest.mark.parametrize(
    ("fallback", "message"),
    [
        (entry("t.other", cost=1), "'t.echo', which is not a loaded tool"),
        (entry("t.echo", cost=1, schema={"type": "object", "properties": {"n": {"type": "integer"}}}), "different"),
        (entry("t.echo", cost=5), r"not cheaper \(5 >= 5 cost units\)"),
    ],
)
def test_a_bad_fallback_stops_the_load(fallback: object, message: str) -> None:
    with pytest.raises(CellLoadError, match=message):
        Registry([entry("t.big", cost=5, fallback="t.echo"), fallback])  # type: ignore[list-item]


def test_annotations_do_not_count_but_a_default_does() -> None:
    base = {"type": "object", "properties": {"title": {"type": "string", "title": "Title"}}, "title": "AIn"}
    renamed = {"type": "object", "properties": {"title": {"type": "string", "description": "x"}}, "title": "BIn"}
    Registry([entry("t.big", cost=5, fallback="t.echo", schema=base), entry("t.echo", cost=1, schema=renamed)])
    # A property that happens to be called "title" is a field, not an annotation.
    other = {"type": "object", "properties": {}, "title": "BIn"}
    with pytest.raises(CellLoadError, match="different"):
        Registry([entry("t.big", cost=5, fallback="t.echo", schema=base), entry("t.echo", cost=1, schema=other)])
    defaulted = {"type": "object", "properties": {"title": {"type": "string", "default": "x"}}}
    with pytest.raises(CellLoadError, match="different"):
        Registry([entry("t.big", cost=5, fallback="t.echo", schema=base), entry("t.echo", cost=1, schema=defaulted)])
