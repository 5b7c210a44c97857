"""The real gateway as a subprocess over real stdio pipes, driven by the real mcp client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.support import GATEWAY, stdio_params

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.req("R-001")
async def test_lists_and_calls_tools_in_both_protocol_eras(
    config_file: Path, clean_env: dict[str, str], mode: str
) -> None:
    async with Client(stdio_params(config_file, clean_env), mode=mode, read_timeout_seconds=20) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"fs__read_file", "fs__write_file", "notes__put", "gateway__whoami"} <= names
        written = await client.call_tool("fs__write_file", {"path": "hello.txt", "content": "hi there"})
        assert not written.is_error, written.content
        read = await client.call_tool("fs__read_file", {"path": "hello.txt"})
        assert read.structured_content is not None and read.structured_content["content"] == "hi there"
        who = await client.call_tool("gateway__whoami", {})
        assert who.structured_content == {
            "principal": "alice",
            "roles": ["local"],
            "domain": "default",
            "transport": "stdio",
        }


async def test_principal_flag_overrides_configuration(config_file: Path, clean_env: dict[str, str]) -> None:
    params = stdio_params(config_file, clean_env, "--principal", "bob")
    async with Client(params, read_timeout_seconds=20) as client:
        who = await client.call_tool("gateway__whoami", {})
        assert who.structured_content is not None and who.structured_content["principal"] == "bob"


@pytest.mark.req("R-004")
async def test_bad_calls_get_clear_errors_and_the_gateway_keeps_serving(
    config_file: Path, clean_env: dict[str, str], state_dir: Path
) -> None:
    async with Client(stdio_params(config_file, clean_env), read_timeout_seconds=20) as client:
        with pytest.raises(MCPError, match="Unknown tool"):
            await client.call_tool("nope__missing", {})
        with pytest.raises(MCPError, match="Unknown tool"):
            await client.call_tool("fs.read_file", {})  # the canonical name is not a wire name
        wrong = await client.call_tool("fs__read_file", {"path": 42})
        assert wrong.is_error and "path" in wrong.content[0].text  # type: ignore[union-attr]
        escape = await client.call_tool("fs__write_file", {"path": "../escaped.txt", "content": "x"})
        assert escape.is_error
        assert not (state_dir / "cells" / "fs" / "escaped.txt").exists()
        assert not (state_dir / "escaped.txt").exists()
        assert "Traceback" not in json.dumps([c.model_dump() for c in escape.content])
        ok = await client.call_tool("gateway__version", {})
        assert not ok.is_error


async def _exchange(process: Process, line: bytes) -> dict[str, Any]:
    assert process.stdin is not None and process.stdout is not None
    await process.stdin.send(line)
    buffer = b""
    with anyio.fail_after(20):
        while not buffer.endswith(b"\n"):
            buffer += await process.stdout.receive()
    reply: dict[str, Any] = json.loads(buffer)
    return reply


async def _initialize(process: Process) -> None:
    """The legacy handshake, by hand."""
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    }
    assert (await _exchange(process, json.dumps(init).encode() + b"\n"))["id"] == 1
    assert process.stdin is not None
    await process.stdin.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')


@pytest.mark.req("R-004")
async def test_malformed_and_oversized_messages_get_json_rpc_errors(
    config_file: Path, clean_env: dict[str, str]
) -> None:
    command = [*GATEWAY, "serve", "--config", str(config_file)]
    async with await anyio.open_process(command, env=clean_env) as process:
        await _initialize(process)

        parse = await _exchange(process, b'{"jsonrpc": "2.0", "id": 2, "method": \n')
        assert parse["error"]["code"] == -32700 and parse["id"] == 2

        invalid = await _exchange(process, b'{"jsonrpc": "2.0", "id": 3, "method": 17}\n')
        assert invalid["error"]["code"] == -32600 and invalid["id"] == 3

        huge = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 4,
                "method": "tools/call",
                "params": {"name": "fs__write_file", "arguments": {"path": "big.txt", "content": "x" * 200_000}},
            }
        )
        too_big = await _exchange(process, huge.encode() + b"\n")
        assert too_big["error"]["code"] == -32600 and too_big["id"] == 4 and "limit" in too_big["error"]["message"]

        unknown = await _exchange(process, b'{"jsonrpc": "2.0", "id": 5, "method": "tools/frobnicate"}\n')
        assert unknown["error"]["code"] == -32601

        bad_params = await _exchange(
            process, b'{"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": 5}}\n'
        )
        assert bad_params["error"]["code"] == -32602

        still = await _exchange(process, b'{"jsonrpc": "2.0", "id": 7, "method": "tools/list"}\n')
        assert len(still["result"]["tools"]) > 5
        await process.stdin.aclose()  # end of input ends the session cleanly
        with anyio.fail_after(10):
            assert await process.wait() == 0
        assert process.stderr is not None
        errors = b"".join([chunk async for chunk in process.stderr]).decode()
        assert "Traceback" not in errors


async def test_console_exporter_writes_spans_to_stderr_not_the_wire(
    config_file: Path, clean_env: dict[str, str]
) -> None:
    env = {**clean_env, "MCP_GATEWAY_TELEMETRY__EXPORTER": "console"}
    command = [*GATEWAY, "serve", "--config", str(config_file)]
    async with await anyio.open_process(command, env=env) as process:
        assert process.stdin is not None and process.stderr is not None
        await _initialize(process)
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "gateway__version"}}
        reply = await _exchange(process, json.dumps(call).encode() + b"\n")
        assert reply["id"] == 2 and "result" in reply
        await process.stdin.aclose()
        with anyio.fail_after(20):
            assert await process.wait() == 0
            errors = b"".join([chunk async for chunk in process.stderr]).decode()
    assert '"name": "tools/call gateway.version"' in errors
