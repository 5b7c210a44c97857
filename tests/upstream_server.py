"""A small stdio MCP server for upstream tests: an `echo` tool whose description comes from the
environment (`TOOL_DESCRIPTION`), so a test can make it change its definition between runs, and
`crash` (the server exits) and `hang` (the call never answers)."""

from __future__ import annotations

import os
from typing import Any

import anyio
import mcp.types as t
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}


async def list_tools(ctx: ServerRequestContext[Any], params: t.PaginatedRequestParams | None) -> t.ListToolsResult:
    description = os.environ.get("TOOL_DESCRIPTION", "Return the text unchanged.")
    tools = [t.Tool(name="echo", description=description, input_schema=SCHEMA)]
    tools += [
        t.Tool(name=name, description=f"Test: {name}.", input_schema={"type": "object"}) for name in ("crash", "hang")
    ]
    return t.ListToolsResult(tools=tools)


async def call_tool(ctx: ServerRequestContext[Any], params: t.CallToolRequestParams) -> t.CallToolResult:
    if params.name == "crash":
        os._exit(3)
    if params.name == "hang":
        await anyio.sleep_forever()
    text = str((params.arguments or {}).get("text", ""))
    return t.CallToolResult(content=[t.TextContent(type="text", text=text)])


async def main() -> None:
    server = Server("test-upstream", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
