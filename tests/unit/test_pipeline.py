from __future__ import annotations

import pytest

from mcp_gateway.errors import InvalidArguments
from mcp_gateway.pipeline import Next, ToolCall, ToolResult, compose
from mcp_gateway.sdk import Principal
from mcp_gateway.tools import ToolEntry

pytestmark = pytest.mark.anyio


def _entry() -> ToolEntry:
    return ToolEntry(
        canonical="t.echo",
        wire="t__echo",
        description="",
        input_schema={},
        output_schema=None,
        risk="low",
        cost=1,
        version="1",
        address="t",
        validate=dict,
    )


class Recorder:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self._log = name, log

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        self._log.append(f"> {self.name}")
        result = await call_next(call)
        self._log.append(f"< {self.name}")
        return result


class Endpoint:
    name = "endpoint"

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        return ToolResult.error("done") if call.arguments.get("fail") else ToolResult(content=[])


class Refuser:
    name = "refuser"

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        raise InvalidArguments("no")


async def test_stages_run_outermost_first_and_unwind_in_reverse() -> None:
    log: list[str] = []
    chain = compose([Recorder("a", log), Recorder("b", log)], Endpoint())
    await chain(ToolCall(_entry(), {}, Principal("p"), "stdio"))
    assert log == ["> a", "> b", "< b", "< a"]


async def test_a_refusal_stops_the_chain_before_the_endpoint() -> None:
    log: list[str] = []
    chain = compose([Recorder("a", log), Refuser(), Recorder("never", log)], Endpoint())
    with pytest.raises(InvalidArguments):
        await chain(ToolCall(_entry(), {}, Principal("p"), "stdio"))
    assert log == ["> a"]
