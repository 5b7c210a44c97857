"""`mcp-gateway serve`: run the gateway over stdio (default) or HTTP."""

from __future__ import annotations

import argparse
from typing import Any

import anyio
from opentelemetry import trace

from mcp_gateway.app import Gateway
from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.serve import serve_http, serve_stdio
from mcp_gateway.telemetry import build_tracer_provider


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help="serve MCP over stdio or HTTP",
        description=(
            "Serve MCP. With no flags: stdio, on the embedded default configuration. "
            "--transport http serves Streamable HTTP at /mcp, legacy SSE at /sse and /messages/, and /healthz."
        ),
    )
    add_config_option(parser)
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", help="HTTP bind address (default from config: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default from config: 8765)")
    parser.add_argument("--principal", help="who stdio callers act as (default from config: the OS user)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    provider = build_tracer_provider(config.telemetry)
    if provider is not None:
        # Also picked up by the SDK's own spans for methods other than tools/call.
        trace.set_tracer_provider(provider)
    gateway = Gateway(config, tracer_provider=provider, stdio_principal=args.principal)
    try:
        if args.transport == "stdio":
            anyio.run(serve_stdio, gateway)
        else:
            host = args.host or config.http.host
            port = config.http.port if args.port is None else args.port
            anyio.run(serve_http, gateway, host, port)
    finally:
        if provider is not None:
            provider.shutdown()
    return 0
