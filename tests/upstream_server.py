"""A small stdio MCP server for upstream tests: an `echo` tool whose description comes from the
environment (`TOOL_DESCRIPTION`, or the file `TOOL_DESCRIPTION_FILE` names), so a test can make
it change its definition between runs, and
`crash` (the server exits) and `hang` (the call never answers); and, for the egress tests,
`fetch` (urllib, which honours the proxy variables), `dial` (a direct TCP connection that
ignores them) and `tunnel` (a CONNECT through the proxy, then a line of text)."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from typing import Any

import anyio
import mcp.types as t
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}


async def list_tools(ctx: ServerRequestContext[Any], params: t.PaginatedRequestParams | None) -> t.ListToolsResult:
    description = os.environ.get("TOOL_DESCRIPTION", "Return the text unchanged.")
    if os.environ.get("TOOL_DESCRIPTION_FILE"):  # read at every listing: it may change between restarts
        with open(os.environ["TOOL_DESCRIPTION_FILE"]) as handle:
            description = handle.read()
    tools = [t.Tool(name="echo", description=description, input_schema=SCHEMA)]
    tools += [
        t.Tool(name=name, description=f"Test: {name}.", input_schema={"type": "object"})
        for name in ("crash", "hang", "fetch", "dial", "tunnel")
    ]
    return t.ListToolsResult(tools=tools)


async def call_tool(ctx: ServerRequestContext[Any], params: t.CallToolRequestParams) -> t.CallToolResult:
    if params.name == "crash":
        os._exit(3)
    if params.name == "hang":
        await anyio.sleep_forever()
    arguments = params.arguments or {}
    if params.name in NETWORK_TOOLS:
        text = await anyio.to_thread.run_sync(NETWORK_TOOLS[params.name], arguments)
    else:
        text = str(arguments.get("text", ""))
    return t.CallToolResult(content=[t.TextContent(type="text", text=text)])


def fetch(arguments: dict[str, Any]) -> str:
    try:
        with urllib.request.urlopen(str(arguments["url"]), timeout=10) as response:
            return f"{response.status} {response.read().decode()}"
    except urllib.error.HTTPError as exc:
        return f"{exc.code} {exc.read().decode().strip()}"
    except OSError as exc:
        return f"error {exc}"


def dial(arguments: dict[str, Any]) -> str:
    try:
        with socket.create_connection((str(arguments["host"]), int(arguments["port"])), timeout=5):
            return "connected"
    except OSError as exc:
        return f"error {exc}"


def tunnel(arguments: dict[str, Any]) -> str:
    proxy = urllib.request.getproxies()["https"].removeprefix("http://")
    host, _, port = proxy.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(f"CONNECT {arguments['target']} HTTP/1.1\r\n\r\n".encode())
        head = connection.recv(4096).decode()
        if " 200 " not in head.split("\r\n")[0]:
            return head.split("\r\n")[0]
        connection.sendall(str(arguments["line"]).encode() + b"\n")
        return connection.makefile().readline().strip()


NETWORK_TOOLS = {"fetch": fetch, "dial": dial, "tunnel": tunnel}


async def main() -> None:
    server = Server("test-upstream", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
