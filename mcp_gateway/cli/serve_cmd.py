"""`mcp-gateway serve`: run the gateway over stdio (default) or HTTP."""

from __future__ import annotations

import argparse
from typing import Any

import anyio
from opentelemetry import trace

from mcp_gateway.app import Gateway
from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.log_context import install
from mcp_gateway.serve import serve_http, serve_stdio
from mcp_gateway.telemetry_setup import Telemetry


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help="serve MCP over stdio or HTTP",
        description=(
            "Serve MCP. With no flags: stdio, on the embedded default configuration. "
            "--transport http serves Streamable HTTP at /mcp, legacy SSE at /sse and /messages/, /healthz, "
            "/metrics (loopback or a metrics role) and the auditor page /audit (auditor role)."
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
    install(config.telemetry.log_format)
    telemetry = Telemetry.from_config(config.telemetry, config.server.state_dir, serving_http=args.transport == "http")
    if telemetry.tracer_provider is not None:
        # Also picked up by libraries that trace through the global provider.
        trace.set_tracer_provider(telemetry.tracer_provider)
    metrics = telemetry.metrics if telemetry.meter_provider is not None else None
    try:
        gateway = Gateway(
            config, tracer_provider=telemetry.tracer_provider, stdio_principal=args.principal, metrics=metrics
        )
        if args.transport == "stdio":
            anyio.run(serve_stdio, gateway)
        else:
            host = args.host or config.http.host
            port = config.http.port if args.port is None else args.port
            anyio.run(serve_http, gateway, host, port, telemetry.prometheus)
    finally:
        telemetry.shutdown()
    return 0
