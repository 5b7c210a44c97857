"""A small stdio MCP server for upstream tests: one `echo` tool whose description comes from the
environment (`TOOL_DESCRIPTION`), so a test can make it change its definition between runs."""

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
    return t.ListToolsResult(tools=[t.Tool(name="echo", description=description, input_schema=SCHEMA)])


async def call_tool(ctx: ServerRequestContext[Any], params: t.CallToolRequestParams) -> t.CallToolResult:
    text = str((params.arguments or {}).get("text", ""))
    return t.CallToolResult(content=[t.TextContent(type="text", text=text)])


async def main() -> None:
    server = Server("test-upstream", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
