"""The baseline: a bare mcp SDK low-level server with one `echo` tool, over stdio or Streamable HTTP.

It imports nothing from `mcp_gateway`, so whatever the gateway adds (config, registry, pipeline,
validation, bus, cell host) shows up as the difference between the two.

    python bench/bare_server.py                    # stdio
    python bench/bare_server.py --transport http   # Streamable HTTP on a free loopback port
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any

import anyio
import mcp.types as t
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

# The same schemas the gateway advertises for `bench.echo`: the client validates structured
# output against an advertised output schema, so both sides must give it the same work.
_TEXT_OBJECT: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
}
ECHO = t.Tool(
    name="echo",
    description="Return the text unchanged.",
    input_schema=_TEXT_OBJECT,
    output_schema=_TEXT_OBJECT,
    annotations=t.ToolAnnotations(read_only_hint=True),
)


async def list_tools(ctx: ServerRequestContext[Any], params: t.PaginatedRequestParams | None) -> t.ListToolsResult:
    return t.ListToolsResult(tools=[ECHO])


async def call_tool(ctx: ServerRequestContext[Any], params: t.CallToolRequestParams) -> t.CallToolResult:
    if params.name != "echo":
        return t.CallToolResult(content=[t.TextContent(type="text", text="unknown tool")], is_error=True)
    output = {"text": str((params.arguments or {}).get("text", ""))}
    return t.CallToolResult(
        content=[t.TextContent(type="text", text=json.dumps(output))],
        structured_content=output,
    )


def build_server() -> Server[Any]:
    return Server("bench-bare", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio() -> None:
    server = build_server()
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_http() -> None:
    # Imported here so the stdio baseline's cold start does not pay for loading uvicorn.
    import uvicorn

    server = build_server()
    # The app built by the SDK runs its own session manager in its lifespan.
    app = server.streamable_http_app(streamable_http_path="/mcp")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False)
    # Bind before announcing (as the gateway does) so the announced port is real and a client
    # connecting at once waits in the backlog rather than being refused.
    sock = config.bind_socket()
    # uvicorn's bind_socket() makes the socket with proto=0, and asyncio only sets TCP_NODELAY on
    # sockets whose proto is IPPROTO_TCP: without this, Nagle holds back the response body until
    # the client's delayed ACK (~40 ms per call). Accepted sockets inherit the option on Linux.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.listen(config.backlog)
    port = sock.getsockname()[1]
    # Same line as the gateway's, so the benchmark parses both the same way.
    print(f"mcp-gateway: Streamable HTTP on http://127.0.0.1:{port}/mcp, SSE on /sse", file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    args = parser.parse_args()
    anyio.run(serve_stdio if args.transport == "stdio" else serve_http)


if __name__ == "__main__":
    main()
