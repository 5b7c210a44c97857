"""Helpers for tests that drive real gateway processes."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from mcp import StdioServerParameters

GATEWAY = [sys.executable, "-m", "mcp_gateway"]
_ANNOUNCE = re.compile(r"Streamable HTTP on (http://\S+)/mcp")


def write_config(path: Path, state_dir: Path, extra: str = "") -> Path:
    path.write_text(
        f"""
[server]
state_dir = "{state_dir}"
principal = "alice"
max_message_bytes = 65536

[[cells]]
module = "cells.fs"
[cells.settings]
root = "{{state_dir}}/workspace"
max_read_bytes = 4096

[[cells]]
module = "cells.notes"

[[cells]]
module = "cells.gateway"
{extra}
"""
    )
    return path


def stdio_params(config_file: Path, env: Mapping[str, str], *extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=GATEWAY[0], args=[*GATEWAY[1:], "serve", "--config", str(config_file), *extra], env=dict(env)
    )


@dataclass
class GatewayProcess:
    process: Process
    base_url: str
    stderr: list[str]
    """Everything the gateway wrote on stderr so far (drained continuously, so it never blocks)."""

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"


@asynccontextmanager
async def start_http_gateway(config_file: Path, env: Mapping[str, str]) -> AsyncIterator[GatewayProcess]:
    """A real gateway process serving HTTP on a free loopback port; stopped on exit."""
    command = [*GATEWAY, "serve", "--config", str(config_file), "--transport", "http", "--port", "0"]
    async with await anyio.open_process(command, env=dict(env)) as process:
        assert process.stderr is not None
        lines = TextReceiveStream(process.stderr)
        seen = ""
        with anyio.fail_after(30):
            async for chunk in lines:
                seen += chunk
                if match := _ANNOUNCE.search(seen):
                    break
            else:
                raise AssertionError(f"the gateway exited before serving:\n{seen}")
        captured = [seen]

        async def drain() -> None:
            async for chunk in lines:
                captured.append(chunk)  # noqa: PERF401 - appended as it arrives, read while running

        async with anyio.create_task_group() as tg:
            tg.start_soon(drain)
            try:
                yield GatewayProcess(process, match.group(1), captured)
            finally:
                process.terminate()
                with anyio.fail_after(10):
                    await process.wait()
