"""`/metrics`: the Prometheus text exposition of the gateway's metrics, for the few who may read it.

Metrics name every tool on the surface and how much each is used, including tools a given
principal may not even see, so they are not public. Who may read them:
  * a caller on this host (loopback), when `[telemetry] metrics_from_loopback` is on (default):
    the usual Prometheus agent or node exporter beside the gateway. Behind a reverse proxy on
    the same host every caller looks local, unless the proxy sends `X-Forwarded-For` (uvicorn
    trusts it from 127.0.0.1): switch it off there;
  * a principal whose bearer token holds one of `[telemetry] metrics_roles` (default `admin`,
    `auditor`), from anywhere.
Anyone else gets 401 (no credentials) or 403 (a principal without the role). The transport puts
the DNS-rebinding guard in front, so a web page cannot read it through a rebound name either.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import anyio.to_thread
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_gateway.identity.verifier import principal_from_user

_NO_STORE = {"cache-control": "no-store"}


def is_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


class MetricsEndpoint:
    def __init__(self, registry: CollectorRegistry, *, from_loopback: bool, roles: Sequence[str]) -> None:
        self._registry = registry
        self._from_loopback = from_loopback
        self._roles = frozenset(roles)

    def _refusal(self, scope: Scope) -> Response | None:
        if self._from_loopback and is_loopback(scope):
            return None
        principal = principal_from_user(scope.get("user"))
        if principal is not None and not self._roles.isdisjoint(principal.roles):
            return None
        if principal is None:
            return PlainTextResponse(
                "metrics need a bearer token with a metrics role\n",
                status_code=401,
                headers={**_NO_STORE, "www-authenticate": "Bearer"},
            )
        return PlainTextResponse("this principal may not read metrics\n", status_code=403, headers=_NO_STORE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if Request(scope).method not in ("GET", "HEAD"):
            await PlainTextResponse("GET only\n", status_code=405, headers={"allow": "GET, HEAD"})(scope, receive, send)
            return
        # Collecting takes the SDK's locks briefly; off the event loop so calls never wait on a scrape.
        body = await anyio.to_thread.run_sync(generate_latest, self._registry)
        await Response(body, media_type=CONTENT_TYPE_LATEST, headers=_NO_STORE)(scope, receive, send)


def metrics_app(registry: CollectorRegistry, *, from_loopback: bool, roles: Sequence[str]) -> ASGIApp:
    return MetricsEndpoint(registry, from_loopback=from_loopback, roles=roles)
