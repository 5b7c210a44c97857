"""HTTP behind bearer auth: 401 + WWW-Authenticate for anything but a valid credential, and the
real MCP client gets through with one. Served by uvicorn in-process around a real gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import mcp.types as t
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server, ServerRequestContext
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp_gateway.app import Gateway
from mcp_gateway.config import HttpConfig, load_config
from mcp_gateway.identity.config import AuthConfig, JwtSettings
from mcp_gateway.identity.jwt import JwtVerifier
from mcp_gateway.identity.tokens import TokenStore
from mcp_gateway.identity.verifier import GatewayTokenVerifier, auth_settings, principal_from_user
from mcp_gateway.transports.http import build_http_app
from tests.identity.helpers import AUDIENCE, ISSUER, claims, ed25519_key, serve, write_jwks
from tests.support import write_config

pytestmark = pytest.mark.anyio

MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
KEY = ed25519_key()


class Clock:
    now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Served:
    base: str
    store: TokenStore
    clock: Clock

    @property
    def mcp(self) -> str:
        return f"{self.base}/mcp"


@asynccontextmanager
async def served(
    tmp_path: Path, server: Server[Any] | None = None, *, auth: AuthSettings | None = None, **options: Any
) -> AsyncIterator[Served]:
    """A real gateway (or `server`) behind `build_http_app` with an API-token + JWT verifier."""
    state = tmp_path / "state"
    clock = Clock()
    store = TokenStore(state / "tokens.json", clock=clock)
    jwt = JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=write_jwks(tmp_path / "jwks.json", KEY))
    verifier: TokenVerifier = GatewayTokenVerifier(store, JwtVerifier(jwt))
    gateway = Gateway(load_config(write_config(tmp_path / "gateway.toml", state), {}))
    async with gateway.running():
        app = build_http_app(
            server or gateway.server.sdk,
            HttpConfig(),
            65536,
            gateway.health,
            token_verifier=verifier,
            auth=auth,
            **options,
        )
        async with serve(app) as base:
            yield Served(base, store, clock)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def client_with(url: str, token: str, **options: Any) -> AsyncIterator[Client]:
    """The real MCP client over Streamable HTTP, sending `token` (the SDK leaves a client it was
    given open, so it is closed here)."""
    async with (
        create_mcp_http_client(headers=bearer(token)) as http_client,
        Client(streamable_http_client(url, http_client=http_client), read_timeout_seconds=20, **options) as client,
    ):
        yield client


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, (response.status_code, response.text)
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert response.json() == {"error": "invalid_token", "error_description": "Authentication required"}


async def test_no_bad_revoked_or_expired_credentials_get_401_everywhere(tmp_path: Path) -> None:
    async with served(tmp_path) as gw, httpx.AsyncClient(timeout=10) as http:
        revoked_info, revoked = gw.store.create("alice", [], None)
        gw.store.revoke(revoked_info.id)
        _, expiring = gw.store.create("alice", [], gw.clock.now + timedelta(hours=1))
        gw.clock.now += timedelta(hours=2)
        candidates: list[dict[str, str]] = [
            {},
            bearer("mgw_000000000000_guess"),
            bearer(revoked),
            bearer(expiring),
            bearer(KEY.mint(claims(aud="https://elsewhere.example.test"))),
            bearer("not-a-token"),
            {"Authorization": "Basic YWxpY2U6cGFzcw=="},
        ]
        for headers in candidates:
            assert_refused(await http.post(gw.mcp, json=LIST_TOOLS, headers={**MCP_HEADERS, **headers}))
            assert_refused(await http.get(gw.mcp, headers={**MCP_HEADERS, **headers}))
            assert_refused(await http.get(f"{gw.base}/sse", headers=headers))
            assert_refused(await http.post(f"{gw.base}/messages/?session_id=x", json=LIST_TOOLS, headers=headers))


@pytest.mark.parametrize(("mode", "era"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
async def test_a_valid_api_token_reaches_the_gateway(tmp_path: Path, mode: str, era: str) -> None:
    async with served(tmp_path) as gw:
        _, token = gw.store.create("alice", ["reader"], gw.clock.now + timedelta(days=1))
        async with client_with(gw.mcp, token, mode=mode) as client:
            assert client.protocol_version == era
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert "gateway__whoami" in names
            assert not (await client.call_tool("gateway__whoami", {})).is_error


async def test_a_valid_jwt_reaches_the_gateway_over_sse(tmp_path: Path) -> None:
    async with served(tmp_path) as gw:
        transport = sse_client(f"{gw.base}/sse", headers=bearer(KEY.mint(claims(roles=["reader"]))))
        async with Client(transport, mode="legacy", read_timeout_seconds=20) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            # The JWT's roles claim reaches the policy: a reader sees reading tools only.
            assert "fs__read_file" in names and "fs__write_file" not in names


async def whoami_server() -> Server[Any]:
    async def list_tools(ctx: ServerRequestContext[Any, Any], params: Any) -> t.ListToolsResult:
        return t.ListToolsResult(tools=[t.Tool(name="whoami", input_schema={"type": "object"})])

    async def call_tool(ctx: ServerRequestContext[Any, Any], params: t.CallToolRequestParams) -> t.CallToolResult:
        user = ctx.request.scope.get("user") if ctx.request is not None else None
        principal = principal_from_user(user)
        text = f"{principal.name}|{','.join(principal.roles)}|{principal.domain}" if principal else "anonymous"
        return t.CallToolResult(content=[t.TextContent(type="text", text=text)])

    return Server("whoami", on_list_tools=list_tools, on_call_tool=call_tool)


async def whoami(client: Client) -> str:
    result = await client.call_tool("whoami", {})
    content = result.content[0]
    assert isinstance(content, t.TextContent)
    return content.text


async def test_the_principal_reaches_the_handlers_on_every_transport(tmp_path: Path) -> None:
    async with served(tmp_path, await whoami_server()) as gw:
        _, token = gw.store.create("alice", ["reader", "writer"], None, domain="acme")
        async with client_with(gw.mcp, token) as client:
            assert await whoami(client) == "alice|reader,writer|acme"
        jwt = KEY.mint(claims(sub="carol", roles="ops"))
        async with Client(sse_client(f"{gw.base}/sse", headers=bearer(jwt)), mode="legacy") as client:
            assert await whoami(client) == "carol|ops|default"


async def test_optional_auth_admits_anonymous_but_never_a_bad_credential(tmp_path: Path) -> None:
    async with served(tmp_path, await whoami_server(), require_auth=False) as gw:
        async with Client(gw.mcp, read_timeout_seconds=20) as client:
            assert await whoami(client) == "anonymous"
        _, token = gw.store.create("alice", [], None)
        async with client_with(gw.mcp, token) as client:
            assert await whoami(client) == "alice||default"
        async with httpx.AsyncClient(timeout=10) as http:
            bad = {**MCP_HEADERS, **bearer("mgw_000000000000_guess")}
            assert_refused(await http.post(gw.mcp, json=LIST_TOOLS, headers=bad))


async def test_health_tells_strangers_only_that_it_is_up(tmp_path: Path) -> None:
    async with served(tmp_path) as gw, httpx.AsyncClient(timeout=10) as http:
        anonymous = await http.get(f"{gw.base}/healthz")
        assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
        _, token = gw.store.create("ops", [], None)
        detailed = await http.get(f"{gw.base}/healthz", headers=bearer(token))
        assert detailed.json()["status"] == "ok" and "version" in detailed.json()


@pytest.mark.req("R-002")
async def test_rebinding_is_refused_before_credentials_are_looked_at(tmp_path: Path) -> None:
    async with served(tmp_path) as gw, httpx.AsyncClient(timeout=10) as http:
        _, token = gw.store.create("alice", [], None)
        for extra in ({"Host": "evil.example"}, {"Origin": "http://evil.example"}):
            for headers in (extra, {**extra, **bearer(token)}):
                response = await http.post(gw.mcp, json=LIST_TOOLS, headers={**MCP_HEADERS, **headers})
                assert response.status_code in (403, 421), (headers, response.status_code)
        assert (await http.get(f"{gw.base}/healthz", headers={"Host": "evil.example"})).status_code == 421


async def test_protected_resource_metadata(tmp_path: Path) -> None:
    jwt = JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=write_jwks(tmp_path / "k.json", KEY))
    settings = auth_settings(AuthConfig(jwt=jwt, resource_server_url=AUDIENCE))
    async with served(tmp_path, auth=settings) as gw, httpx.AsyncClient(timeout=10) as http:
        refused = await http.post(gw.mcp, json=LIST_TOOLS, headers=MCP_HEADERS)
        assert_refused(refused)
        metadata_url = "https://gateway.example.test/.well-known/oauth-protected-resource/mcp"
        assert f'resource_metadata="{metadata_url}"' in refused.headers["www-authenticate"]
        metadata = await http.get(f"{gw.base}/.well-known/oauth-protected-resource/mcp")
        assert metadata.status_code == 200
        body = metadata.json()
        assert body["resource"] == AUDIENCE and body["authorization_servers"] == [ISSUER]
