"""Run a built gateway on a transport until the client (stdio) or a signal (HTTP) ends it."""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn

from mcp_gateway.app import Gateway
from mcp_gateway.identity.verifier import auth_settings, build_verifier
from mcp_gateway.transports.http import build_http_app
from mcp_gateway.transports.stdio import stdio_transport

logger = logging.getLogger(__name__)


async def serve_stdio(gateway: Gateway) -> None:
    sdk = gateway.server.sdk
    async with gateway.running(), stdio_transport(gateway.config.server.max_message_bytes) as (read, write):
        await sdk.run(read, write, sdk.create_initialization_options())


async def serve_http(gateway: Gateway, host: str, port: int) -> None:
    auth = gateway.config.auth
    app = build_http_app(
        gateway.server.sdk,
        gateway.config.http,
        gateway.config.server.max_message_bytes,
        gateway.health,
        token_verifier=build_verifier(auth, gateway.config.server.state_dir),
        auth=auth_settings(auth),
        require_auth=auth.require_auth,
    )
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    if host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("listening on %s: reachable beyond this machine", host)
    # Cells start before the socket is bound: a failure is reported as itself, nothing listens.
    async with gateway.running():
        await _serve_on_bound_socket(server, config)


async def _serve_on_bound_socket(server: uvicorn.Server, config: uvicorn.Config) -> None:
    # Bind before announcing, so the announced address is real (also with --port 0) and a client
    # that connects at once waits in the backlog until uvicorn accepts instead of being refused.
    sock = config.bind_socket()
    # asyncio sets TCP_NODELAY only on sockets it creates itself; without it on this pre-bound
    # socket, each response body waits ~40 ms for the client's delayed ACK (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.listen(config.backlog)
    bound_host, bound_port = sock.getsockname()[:2]
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(
        f"mcp-gateway: Streamable HTTP on http://{url_host}:{bound_port}/mcp, SSE on /sse", file=sys.stderr, flush=True
    )
    await server.serve(sockets=[sock])
