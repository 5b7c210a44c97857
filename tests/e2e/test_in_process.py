"""The whole gateway in-process behind the real mcp client (`mcp_gateway.testing.gateway_client`)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from mcp_gateway.app import Gateway
from mcp_gateway.config import load_config
from mcp_gateway.errors import CellLoadError
from mcp_gateway.testing import gateway_client
from tests.support import write_config, write_policy

RELAY = '\n[[cells]]\nmodule = "tests.relay_cell:RelayCell"\n'


def relay_config(tmp_path: Path, state_dir: Path, extra: str = "", grant: bool = True) -> Path:
    """The relay cell, and a policy that lets `cell:relay` call every tool (unless `grant` is off)."""
    policy = write_policy(tmp_path / "policy", *(["p, cell:relay, *, *, call, allow"] if grant else []))
    authz = f'\n[authz]\npolicy_dir = "{policy}"\n'
    return write_config(tmp_path / "g.toml", state_dir, authz + RELAY + extra)


@pytest.mark.anyio
@pytest.mark.req("R-005")
async def test_cells_call_each_other_through_the_pipeline_as_themselves(tmp_path: Path, state_dir: Path) -> None:
    config = load_config(relay_config(tmp_path, state_dir), {})
    async with gateway_client(config) as (_, client):
        result = await client.call_tool("relay__call", {"tool": "gateway.whoami"})
        assert not result.is_error
        assert result.structured_content is not None
        inner = result.structured_content["structured"]
        assert inner["principal"] == "cell:relay" and inner["transport"] == "cell"


@pytest.mark.anyio
async def test_cell_calls_are_validated_and_bounded(tmp_path: Path, state_dir: Path) -> None:
    config = load_config(relay_config(tmp_path, state_dir), {})
    async with gateway_client(config) as (_, client):
        bad = await client.call_tool("relay__call", {"tool": "fs.read_file", "arguments": {"path": 3}})
        assert bad.structured_content is not None and bad.structured_content["is_error"]
        assert "invalid arguments" in bad.structured_content["text"]
        for name in ("fs.read_file.evil", "nope.tool", "fs__read_file"):
            missing = await client.call_tool("relay__call", {"tool": name})
            assert missing.structured_content is not None and missing.structured_content["is_error"], name
        # A cell that calls itself forever is stopped at a fixed depth instead of exhausting the gateway.
        deep = await client.call_tool("relay__loop", {})
        assert deep.structured_content is not None and deep.structured_content["is_error"]
        assert "nested deeper than 8" in deep.structured_content["text"]


@pytest.mark.anyio
async def test_notes_survive_a_restart(tmp_path: Path, state_dir: Path) -> None:
    config = load_config(write_config(tmp_path / "g.toml", state_dir), {})
    async with gateway_client(config) as (_, client):
        assert not (await client.call_tool("notes__put", {"key": "plan", "text": "ship it"})).is_error
    async with gateway_client(config) as (_, client):
        got = await client.call_tool("notes__get", {"key": "plan"})
        assert got.structured_content is not None and got.structured_content["text"] == "ship it"


@pytest.mark.anyio
async def test_state_dirs_are_private(tmp_path: Path, state_dir: Path) -> None:
    config = load_config(write_config(tmp_path / "g.toml", state_dir), {})
    async with gateway_client(config):
        pass
    for path in (state_dir / "cells", state_dir / "cells" / "notes", state_dir / "workspace"):
        assert path.stat().st_mode & 0o077 == 0, path


@pytest.mark.anyio
async def test_the_wire_separator_is_configurable(tmp_path: Path, state_dir: Path) -> None:
    file = write_config(tmp_path / "g.toml", state_dir)
    config = load_config(file, {"MCP_GATEWAY_SERVER__WIRE_SEPARATOR": "-"})
    async with gateway_client(config) as (_, client):
        listed = {tool.name: tool.title for tool in (await client.list_tools()).tools}
        assert listed["fs-read_file"] == "fs.read_file"
        assert not any("__" in name for name in listed)
        assert not (await client.call_tool("gateway-version", {})).is_error


@pytest.mark.anyio
async def test_a_tool_past_its_deadline_ends_with_a_clear_error(tmp_path: Path, state_dir: Path) -> None:
    file = relay_config(tmp_path, state_dir, "timeout = 0.2\n")
    async with gateway_client(load_config(file, {})) as (_, client):
        with anyio.fail_after(10):
            result = await client.call_tool("relay__hang", {})
        assert result.is_error and "did not answer within 0.2 s" in result.content[0].text  # type: ignore[union-attr]
        assert not (await client.call_tool("gateway__version", {})).is_error


def test_high_risk_tools_are_refused_without_a_jail(tmp_path: Path, state_dir: Path) -> None:
    extra = '\n[jail]\nenabled = false\n\n[[cells]]\nmodule = "tests.relay_cell:RiskyCell"\n'
    file = write_config(tmp_path / "g.toml", state_dir, extra)
    with pytest.raises(CellLoadError, match="high-risk tools \\(run\\)"):
        Gateway(load_config(file, {}))


@pytest.mark.anyio
async def test_cells_are_authorised_as_themselves(tmp_path: Path, state_dir: Path) -> None:
    async with gateway_client(load_config(relay_config(tmp_path, state_dir, grant=False), {})) as (_, client):
        refused = await client.call_tool("relay__call", {"tool": "gateway.whoami"})
        assert refused.structured_content is not None
        assert refused.structured_content == {
            "is_error": True,
            "text": "Unknown tool: gateway.whoami",
            "structured": None,
        }


@pytest.mark.anyio
async def test_budgets_refuse_with_the_budget_and_its_reset_and_survive_a_restart(
    tmp_path: Path, state_dir: Path
) -> None:
    budgets = "\n[budgets.default]\ncalls_per_minute = 1000\ncost_units_per_day = 3\n"
    config = load_config(write_config(tmp_path / "g.toml", state_dir, budgets), {})
    async with gateway_client(config) as (_, client):
        for _ in range(3):
            assert not (await client.call_tool("gateway__version", {})).is_error
        spent = await client.call_tool("gateway__version", {})
        assert spent.is_error
        message = spent.content[0].text  # type: ignore[union-attr]
        assert "cost units per day" in message and "resets at" in message
    async with gateway_client(config) as (_, client):
        # Daily cost is kept across restarts.
        assert (await client.call_tool("gateway__version", {})).is_error
