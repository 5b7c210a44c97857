"""The real gateway serving HTTP on loopback: Streamable HTTP in both protocol eras, SSE, health."""

from __future__ import annotations

import json

import httpx2 as httpx
import pytest
from mcp import Client
from mcp.client.sse import sse_client

from tests.support import GatewayProcess

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("mode", "era"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
async def test_streamable_http_serves_both_protocol_eras(http_gateway: GatewayProcess, mode: str, era: str) -> None:
    async with http_gateway.client(mode) as client:
        assert client.protocol_version == era
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"fs__list_dir", "notes__search", "gateway__tools"} <= names
        put = await client.call_tool("notes__put", {"key": "k1", "text": "remember the milk"})
        assert not put.is_error, put.content
        who = await client.call_tool("gateway__whoami", {})
        assert who.structured_content is not None and who.structured_content["transport"] == "http"


async def test_legacy_sse_transport(http_gateway: GatewayProcess) -> None:
    transport = sse_client(f"{http_gateway.base_url}/sse", headers=http_gateway.auth)
    async with Client(transport, mode="legacy", read_timeout_seconds=20) as client:
        tools = (await client.list_tools()).tools
        assert any(tool.name == "gateway__version" for tool in tools)
        who = await client.call_tool("gateway__whoami", {})
        assert who.structured_content is not None and who.structured_content["transport"] == "sse"


async def test_health(http_gateway: GatewayProcess) -> None:
    async with httpx.AsyncClient() as http:
        anonymous = await http.get(f"{http_gateway.base_url}/healthz")
        known = await http.get(f"{http_gateway.base_url}/healthz", headers=http_gateway.auth)
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    body = known.json()
    assert body["status"] == "ok" and body["tools"] > 5


async def test_dns_rebinding_is_refused(http_gateway: GatewayProcess) -> None:
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with httpx.AsyncClient(headers=http_gateway.auth) as http:
        for headers in ({"Host": "evil.example"}, {"Origin": "http://evil.example"}):
            response = await http.post(
                http_gateway.mcp_url,
                json=request,
                headers={"Accept": "application/json, text/event-stream", **headers},
            )
            assert response.status_code in (400, 403, 421), (headers, response.status_code)
        sse = await http.get(f"{http_gateway.base_url}/sse", headers={"Host": "evil.example"})
        assert sse.status_code in (400, 403, 421)


async def test_oversized_and_malformed_bodies_are_refused_and_serving_continues(http_gateway: GatewayProcess) -> None:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json", **http_gateway.auth}
    async with httpx.AsyncClient() as http:
        big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": "x" * 100_000}})
        response = await http.post(http_gateway.mcp_url, content=big, headers=headers)
        assert response.status_code == 413
        response = await http.post(http_gateway.mcp_url, content=b'{"jsonrpc": "2.0", "id": ', headers=headers)
        assert response.status_code == 400
        assert "Traceback" not in response.text
    async with http_gateway.client() as client:
        assert (await client.list_tools()).tools
    assert "Traceback" not in "".join(http_gateway.stderr)
