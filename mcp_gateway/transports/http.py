"""HTTP: Streamable HTTP at `/mcp` (2026-07-28 stateless and the older session protocol),
legacy SSE at `/sse` + `/messages/`, and `/healthz`, in one Starlette app.

Loopback is the default bind, and DNS-rebinding protection is always on: `Host` and `Origin`
must be loopback names or ones the operator listed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import Server
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from mcp_gateway.config import HttpConfig

_LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
_LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def security_settings(config: HttpConfig) -> TransportSecuritySettings:
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*_LOOPBACK_HOSTS, *config.allowed_hosts],
        allowed_origins=[*_LOOPBACK_ORIGINS, *config.allowed_origins],
    )


def build_http_app(
    server: Server[Any],
    config: HttpConfig,
    max_message_bytes: int,
    health: Callable[[], dict[str, Any]],
) -> Starlette:
    security = security_settings(config)
    sessions = StreamableHTTPSessionManager(
        app=server, security_settings=security, max_request_body_size=max_message_bytes
    )
    sse = SseServerTransport("/messages/", security_settings=security, max_request_body_size=max_message_bytes)

    async def handle_sse(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with sse.connect_sse(scope, receive, send) as (read, write):
                await server.run(read, write, server.create_initialization_options())
        except ValueError:
            # connect_sse has already answered the request (a rebinding check failed).
            return

    async def healthz(request: Request) -> Response:
        return JSONResponse(health())

    @asynccontextmanager
    async def app_lifespan(app: Starlette) -> AsyncIterator[None]:
        async with sessions.run():
            yield

    return Starlette(
        routes=[
            Route("/mcp", endpoint=StreamableHTTPASGIApp(sessions)),
            Route("/sse", endpoint=_asgi_get(handle_sse), methods=["GET"]),
            Mount("/messages/", app=sse.handle_post_message),
            Route("/healthz", endpoint=healthz, methods=["GET"]),
        ],
        lifespan=app_lifespan,
    )


def _asgi_get(handler: Callable[[Scope, Receive, Send], Awaitable[None]]) -> Callable[[Request], Awaitable[Response]]:
    """Starlette routes call endpoints with a Request; SSE needs the raw ASGI triple."""

    async def endpoint(request: Request) -> Response:
        await handler(request.scope, request.receive, request._send)
        return _AlreadySent()

    return endpoint


class _AlreadySent(Response):
    """The SSE stream has been written and closed; nothing more goes on the wire."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None
