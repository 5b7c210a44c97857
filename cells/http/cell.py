"""`http.fetch`: GET or POST to hosts on an allow-list, with size and time caps.

A host rule may name a secret: the cell asks the gateway for it on each call (the gateway's
policy decides and audits the release) and sends it as `Authorization`. The value never reaches
the model: the caller cannot set `Authorization` itself, the response is returned without the
request's headers, and the gateway's DLP knows every released value, so an echo of it in a
response is withheld as GATEWAY_SECRET.

Redirects are not followed (a 3xx is returned as it is): a redirect to another host would leave
the allow-list. A name must resolve to public addresses unless its rule says `private = true`,
so an allowed name cannot be pointed at the gateway's own network.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import anyio
import httpx

from mcp_gateway.sdk import Cell, CellContext, ToolError, tool

from .models import FetchIn, FetchOut, HostRule, HttpSettings

_DEFAULT_PORTS = {"https": 443, "http": 80}
_FORBIDDEN_HEADERS = {"authorization", "proxy-authorization", "cookie", "host", "content-length", "transfer-encoding"}
_RETURNED_HEADERS = ("content-type", "content-length", "location", "etag", "last-modified", "retry-after")


class HttpCell(Cell):
    namespace = "http"
    version = "0.1.0"
    Settings = HttpSettings

    def _rule_for(self, url: str) -> tuple[HostRule, str, int]:
        settings: HttpSettings = self.settings  # type: ignore[assignment]
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
        try:
            port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
        except ValueError:
            raise ToolError("the URL's port is not a number") from None
        if parts.username or parts.password:
            raise ToolError("credentials in the URL are not accepted")
        for rule in settings.hosts:
            rule_host = rule.host.lower().strip("[]")
            ports = rule.ports or tuple(_DEFAULT_PORTS[s] for s in rule.schemes)
            if host == rule_host and scheme in rule.schemes and port in ports:
                return rule, host, port
        raise ToolError(f"{scheme}://{host}:{port} is not on this gateway's allow-list for http.fetch")

    @tool(
        description=(
            "Fetch a URL (GET or POST) from a host on the gateway's allow-list; credentials for the "
            "host are added by the gateway and never shown. Redirects are returned, not followed."
        ),
        cost=2,
        read_only=False,
        idempotent=False,
    )
    async def fetch(self, args: FetchIn, ctx: CellContext) -> FetchOut:
        settings: HttpSettings = self.settings  # type: ignore[assignment]
        rule, host, port = self._rule_for(args.url)
        headers = {}
        for name, value in args.headers.items():
            if name.lower() in _FORBIDDEN_HEADERS or not name.replace("-", "").isalnum():
                raise ToolError(f"header {name!r} may not be set by the caller")
            headers[name] = value
        body = (args.body or "").encode()
        if args.method == "GET" and body:
            raise ToolError("a GET has no body")
        if len(body) > settings.max_request_bytes:
            raise ToolError(f"the request body is over {settings.max_request_bytes} bytes")
        await _check_address(host, port, rule)
        if rule.auth_secret:
            value = await ctx.secret(rule.auth_secret)
            headers["Authorization"] = f"{rule.auth_scheme} {value}".strip() if rule.auth_scheme else value
        return await _send(args, headers, body, settings)


async def _check_address(host: str, port: int, rule: HostRule) -> None:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None or rule.private:
        return
    try:
        found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise ToolError(f"{host} does not resolve") from None
    if any(not ipaddress.ip_address(str(entry[4][0]).split("%")[0]).is_global for entry in found):
        raise ToolError(f"{host} resolves to a non-public address, which its rule does not allow")


async def _send(args: FetchIn, headers: dict[str, str], body: bytes, settings: HttpSettings) -> FetchOut:
    timeout = httpx.Timeout(settings.timeout)
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client,
            client.stream(args.method, args.url, headers=headers, content=body or None) as response,
        ):
            chunks: list[bytes] = []
            size, truncated = 0, False
            async for chunk in response.aiter_bytes():
                if size + len(chunk) > settings.max_bytes:
                    chunks.append(chunk[: settings.max_bytes - size])
                    truncated = True
                    break
                chunks.append(chunk)
                size += len(chunk)
            kept = {name: response.headers[name] for name in _RETURNED_HEADERS if name in response.headers}
            text = b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
            return FetchOut(status=response.status_code, headers=kept, body=text, truncated=truncated)
    except httpx.TimeoutException:
        raise ToolError(f"the request took longer than {settings.timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise ToolError(f"the request failed: {type(exc).__name__}") from None
