"""Run a built gateway on a transport until the client (stdio) or a signal (HTTP) ends it."""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp

from mcp_gateway.app import Gateway
from mcp_gateway.audit.query import Filter, records
from mcp_gateway.auditor.routes import AuditorView, may_view_by_roles
from mcp_gateway.identity.verifier import GatewayTokenVerifier, auth_settings, build_verifier, principal_from_user
from mcp_gateway.metrics_endpoint import metrics_app
from mcp_gateway.sdk import Principal
from mcp_gateway.transports.http import build_http_app
from mcp_gateway.transports.stdio import stdio_transport

logger = logging.getLogger(__name__)


async def serve_stdio(gateway: Gateway) -> None:
    sdk = gateway.server.sdk
    async with gateway.running(), stdio_transport(gateway.config.server.max_message_bytes) as (read, write):
        await sdk.run(read, write, sdk.create_initialization_options())


async def serve_http(gateway: Gateway, host: str, port: int, prometheus: CollectorRegistry | None = None) -> None:
    """`prometheus`: the registry `/metrics` serves (None: no `/metrics`)."""
    config = gateway.config
    auth = config.auth
    verifier = build_verifier(auth, config.server.state_dir)
    telemetry = config.telemetry
    app = build_http_app(
        gateway.server.sdk,
        config.http,
        config.server.max_message_bytes,
        gateway.health,
        token_verifier=verifier,
        auth=auth_settings(auth),
        require_auth=auth.require_auth,
        metrics_app=(
            metrics_app(prometheus, from_loopback=telemetry.metrics_from_loopback, roles=telemetry.metrics_roles)
            if prometheus is not None
            else None
        ),
        auditor_app=auditor_app(gateway, verifier) if config.auditor.enabled else None,
    )
    served = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
    server = _Server(served)
    if host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("listening on %s: reachable beyond this machine", host)
    # Cells start before the socket is bound: a failure is reported as itself, nothing listens.
    async with gateway.running():
        await _serve_on_bound_socket(server, served)


class _Server(uvicorn.Server):
    """uvicorn, which after a graceful shutdown on SIGTERM/SIGINT raises the signal again: that
    ends the process before the gateway has closed its audit log (a last checkpoint) and flushed
    its spans and metrics. Here the shutdown stays graceful and `serve` simply returns."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def auditor_app(gateway: Gateway, verifier: GatewayTokenVerifier) -> ASGIApp:
    """The `/audit` page over this gateway's audit log and span file."""
    config = gateway.config
    state_dir = config.server.state_dir
    directory = config.audit.log_dir(state_dir)
    telemetry = config.telemetry
    span_file = telemetry.span_file(state_dir) if "jsonl" in telemetry.span_exporters else None

    def read(where: Filter) -> Iterator[dict[str, Any]]:
        return records(directory, where)

    async def verify(token: str) -> Principal | None:
        access = await verifier.verify_token(token)
        return principal_from_user(AuthenticatedUser(access)) if access is not None else None

    access_log = gateway.audit.append if gateway.audit is not None else None
    view = AuditorView(config.auditor, read, span_file, verify, may_view_by_roles(config.auditor.roles), access_log)
    return view.app()


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
