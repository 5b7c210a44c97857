"""What runs inside the jail for a high-risk tool: one call of one tool of one cell.

`run_tool` is the callable a jailed zygote worker calls (see sandbox/zygote.py): it builds the
cell from its import path and settings, starts it with the worker's scratch dir as its state
dir, calls the tool, stops the cell and returns the output as JSON. A jailed tool cannot call
other tools (it has no way back to the gateway) and sees nothing of the gateway's state.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio

from mcp_gateway.registry import import_cell
from mcp_gateway.sdk import CallOutcome, CellContext, Principal, ToolError, ToolInfo

NO_CALLS = "tools that run in the jail cannot call other tools"


class _NoGateway:
    """The gateway as a jailed tool sees it: a version, and nothing else."""

    def __init__(self, version: str) -> None:
        self._version = version

    @property
    def version(self) -> str:
        return self._version

    def visible_tools(self, principal: Principal) -> Sequence[ToolInfo]:
        return []

    async def call_tool(
        self, principal: Principal, tool: str, arguments: Mapping[str, Any], *, depth: int
    ) -> CallOutcome:
        return CallOutcome(True, NO_CALLS, None)

    async def read_secret(self, cell: Principal, name: str, *, caller: Principal) -> str:
        raise ToolError("tools that run in the jail cannot read secrets")


def run_tool(payload: dict[str, Any]) -> dict[str, Any]:
    cls = import_cell(payload["module"])
    cell = cls(cls.Settings.model_validate(payload["settings"]), Path(os.getcwd()))
    spec = next(spec for spec in cell.tool_specs if spec.name == payload["tool"])
    args = spec.input_model.model_validate(payload["arguments"])
    caller = payload["principal"]
    ctx = CellContext(
        principal=Principal(caller["name"], tuple(caller["roles"]), caller["domain"]),
        transport=payload["transport"],
        request_id=payload["request_id"],
        cell_principal=Principal(f"cell:{cell.namespace}", roles=("cell",)),
        gateway=_NoGateway(payload["version"]),
        depth=payload["depth"],
    )

    async def call() -> Any:
        await cell.start()
        try:
            return await cell.bound_tool(spec)(args, ctx)
        finally:
            await cell.stop()

    try:
        output = anyio.run(call)
    except ToolError as exc:
        return {"error": str(exc)}
    return {"output": output.model_dump(mode="json")}
