"""A third-party MCP server as a cell: launched in the jail, listed and called through the gateway."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp import Client

from mcp_gateway.config import load_config
from mcp_gateway.errors import CellLoadError
from mcp_gateway.testing import gateway_client
from tests.support import stdio_params, write_config

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
# The upstream: the bare SDK server of the benchmarks, started by the venv's Python, which it
# may read (and the project, for its script), and nothing else of this machine's files.
UPSTREAM = f"""
[[upstreams]]
name = "echoer"
command = ["{sys.executable}", "-I", "{ROOT / "bench" / "bare_server.py"}"]
read_only = ["{ROOT}"]
env = {{ GREETING = "hello" }}
"""


async def test_an_upstreams_tools_are_served_under_its_name(tmp_path: Path, state_dir: Path) -> None:
    config = load_config(write_config(tmp_path / "g.toml", state_dir, UPSTREAM), {})
    async with gateway_client(config) as (gateway, client):
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "echoer__echo" in names
        result = await client.call_tool("echoer__echo", {"text": "mail dana.smith@example.org"})
        assert not result.is_error
        # Through the same pipeline as any cell: DLP rewrote the address on its way back.
        assert result.structured_content is not None
        assert result.structured_content["text"].startswith("mail <EMAIL_ADDRESS_")
        entry = gateway.registry.by_canonical("echoer.echo")
        assert entry is not None and entry.risk == "high"


async def test_an_upstream_over_stdio_end_to_end(config_file: Path, clean_env: dict[str, str]) -> None:
    config_file.write_text(config_file.read_text() + UPSTREAM)
    async with Client(stdio_params(config_file, clean_env), read_timeout_seconds=30) as client:
        result = await client.call_tool("echoer__echo", {"text": "hi"})
    assert not result.is_error and result.structured_content == {"text": "hi"}


async def test_an_upstream_that_cannot_start_stops_the_gateway(tmp_path: Path, state_dir: Path) -> None:
    broken = '\n[[upstreams]]\nname = "broken"\ncommand = ["/bin/false"]\n'
    config = load_config(write_config(tmp_path / "g.toml", state_dir, broken), {})
    with pytest.raises(CellLoadError, match="upstream 'broken' did not start"):
        async with gateway_client(config):
            pass


def test_an_upstream_cannot_take_a_cells_namespace(tmp_path: Path, state_dir: Path) -> None:
    from mcp_gateway.app import Gateway

    clash = '\n[[upstreams]]\nname = "notes"\ncommand = ["/bin/true"]\n'
    with pytest.raises(CellLoadError, match="share the namespace 'notes'"):
        Gateway(load_config(write_config(tmp_path / "g.toml", state_dir, clash), {}))
