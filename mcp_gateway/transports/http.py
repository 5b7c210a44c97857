"""HTTP: Streamable HTTP at `/mcp` (2026-07-28 stateless and the older session protocol),
legacy SSE at `/sse` + `/messages/`, `/healthz`, and, when the composition root hands them in,
`/metrics` and the auditor page at `/audit`, in one Starlette app.

Loopback is the default bind, and DNS-rebinding protection is always on: `Host` and `Origin`
must be loopback names or ones the operator listed.

With a token verifier, the MCP endpoints sit behind the SDK's own bearer middleware, as
`Server.streamable_http_app` composes it: missing or bad credentials get 401 with
`WWW-Authenticate` and nothing else. `/healthz` stays open but tells an anonymous caller only
whether the gateway is up. Who the caller is stays in `scope["user"]`; what they may do is
decided further in, never here: `/metrics` and `/audit` are apps of their own that decide who
may read them; this module only mounts them behind the Host/Origin guard.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import Server
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

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
    *,
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
    require_auth: bool = True,
    metrics_app: ASGIApp | None = None,
    auditor_app: ASGIApp | None = None,
) -> Starlette:
    """The HTTP app. Without `token_verifier` every caller is anonymous. With one, `require_auth`
    refuses requests without credentials (when False they pass as anonymous, but a credential
    that is present and wrong is still refused). `auth` adds protected-resource metadata.
    `metrics_app` is served at `/metrics`, `auditor_app` under `/audit`."""
    security = security_settings(config)
    extra = _extra_routes(security, metrics_app, auditor_app)
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
        report = health()
        if token_verifier is not None and not isinstance(request.scope.get("user"), AuthenticatedUser):
            # Version and surface size help an attacker pick an exploit; a prober needs only this.
            report = {"status": report.get("status", "ok")}
        return JSONResponse(report)

    @asynccontextmanager
    async def app_lifespan(app: Starlette) -> AsyncIterator[None]:
        async with sessions.run():
            yield

    if token_verifier is None:
        return Starlette(
            routes=[
                Route("/mcp", endpoint=StreamableHTTPASGIApp(sessions)),
                Route("/sse", endpoint=_asgi_get(handle_sse), methods=["GET"]),
                Mount("/messages/", app=sse.handle_post_message),
                Route("/healthz", endpoint=healthz, methods=["GET"]),
                *extra,
            ],
            lifespan=app_lifespan,
        )

    guard = _auth_guard(auth, require_auth)
    routes: list[BaseRoute] = [
        Route("/mcp", endpoint=guard(StreamableHTTPASGIApp(sessions))),
        Route("/sse", endpoint=guard(handle_sse), methods=["GET"]),
        Mount("/messages/", app=guard(sse.handle_post_message)),
        Route("/healthz", endpoint=healthz, methods=["GET"]),
        *extra,
    ]
    if auth is not None and auth.resource_server_url is not None:
        routes.extend(
            create_protected_resource_routes(
                resource_url=auth.resource_server_url,
                authorization_servers=[auth.issuer_url],
                scopes_supported=auth.required_scopes,
            )
        )
    check_resource = auth is not None and auth.validate_token_resource
    backend = BearerAuthBackend(
        token_verifier, resource_server_url=auth.resource_server_url if auth is not None and check_resource else None
    )
    return Starlette(
        routes=routes,
        middleware=[
            # Host/Origin first: a rebinding attempt is refused as such (421/403), before any
            # credential is looked at, and also on /healthz and the metadata route.
            Middleware(_HostOriginGuard, security=security),
            Middleware(AuthenticationMiddleware, backend=backend),
            Middleware(AuthContextMiddleware),
        ],
        lifespan=app_lifespan,
    )


def _extra_routes(
    security: TransportSecuritySettings, metrics_app: ASGIApp | None, auditor_app: ASGIApp | None
) -> list[BaseRoute]:
    """Each behind its own Host/Origin guard, so it holds also where no middleware stack has one."""
    routes: list[BaseRoute] = []
    if metrics_app is not None:
        routes.append(Route("/metrics", endpoint=_HostOriginGuard(metrics_app, security)))
    if auditor_app is not None:
        routes.append(Mount("/audit", app=_HostOriginGuard(auditor_app, security)))
    return routes


def _auth_guard(auth: AuthSettings | None, require_auth: bool) -> Callable[[ASGIApp], ASGIApp]:
    metadata_url = (
        build_resource_metadata_url(auth.resource_server_url)
        if auth is not None and auth.resource_server_url is not None
        else None
    )
    scopes = list(auth.required_scopes or []) if auth is not None else []

    def guard(app: ASGIApp) -> ASGIApp:
        required = RequireAuthMiddleware(app, scopes, metadata_url)
        return required if require_auth else _RefuseBadCredentials(app, required)

    return guard


class _RefuseBadCredentials:
    """Anonymous access allowed: a request without `Authorization` passes as it is, one with a
    credential must pass `RequireAuthMiddleware`, so a wrong token is never silently anonymous."""

    def __init__(self, app: ASGIApp, required: ASGIApp) -> None:
        self.app, self.required = app, required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        has_credentials = any(name.lower() == b"authorization" for name, _ in scope.get("headers", ()))
        await (self.required if has_credentials else self.app)(scope, receive, send)


class _HostOriginGuard:
    """The SDK's DNS-rebinding check (Host and Origin only) in front of every route."""

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings) -> None:
        self.app = app
        self.check = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = await self.check.validate_request(Request(scope, receive), is_post=False)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
