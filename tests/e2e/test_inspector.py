"""The MCP Inspector CLI (npm @modelcontextprotocol/inspector) lists and calls the gateway's tools.

`.ci/run` installs the Inspector into `.ci/node`; elsewhere point `MCP_INSPECTOR` at its
`mcp-inspector` binary. Under CI a missing Inspector is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.support import GatewayProcess

ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = Path(os.environ.get("MCP_INSPECTOR", ROOT / ".ci/node/node_modules/.bin/mcp-inspector"))


async def _inspector(*args: str) -> Any:
    if not INSPECTOR.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the MCP Inspector is not installed at {INSPECTOR}")
        pytest.skip(f"the MCP Inspector is not installed at {INSPECTOR} (.ci/run installs it)")
    with anyio.fail_after(120):
        done = await anyio.run_process([str(INSPECTOR), "--cli", *args], check=False)
    assert done.returncode == 0, (done.stdout + done.stderr).decode()
    return json.loads(done.stdout)


@pytest.mark.anyio
async def test_inspector_over_stdio(config_file: Path) -> None:
    launch = [sys.executable, "-m", "mcp_gateway", "serve", "-e", f"MCP_GATEWAY_CONFIG={config_file}"]
    listed = await _inspector(*launch, "--method", "tools/list")
    assert "fs__read_file" in {tool["name"] for tool in listed["tools"]}
    called = await _inspector(*launch, "--method", "tools/call", "--tool-name", "gateway__whoami")
    assert called["structuredContent"]["principal"] == "alice"


@pytest.mark.anyio
@pytest.mark.parametrize("era", ["auto", "legacy"])
@pytest.mark.req("R-002")
async def test_inspector_over_http(http_gateway: GatewayProcess, era: str) -> None:
    target = [http_gateway.mcp_url, "--protocol-era", era, "--header", f"Authorization: Bearer {http_gateway.token}"]
    listed = await _inspector(*target, "--method", "tools/list")
    assert "notes__put" in {tool["name"] for tool in listed["tools"]}
    called = await _inspector(*target, "--method", "tools/call", "--tool-name", "gateway__whoami")
    assert called["structuredContent"]["transport"] == "http"
