"""Helpers for tests that drive real gateway processes."""

from __future__ import annotations

import re
import shutil
import socketserver
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp_gateway.authz.config import DEFAULT_POLICY_DIR

GATEWAY = [sys.executable, "-m", "mcp_gateway"]
_ANNOUNCE = re.compile(r"Streamable HTTP on (http://\S+)/mcp")


@contextmanager
def serving_on_loopback(server: socketserver.BaseServer) -> Iterator[int]:
    """Run `server` (bound to 127.0.0.1:0) on a daemon thread; its port; shut down on exit."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]  # type: ignore[index]
    finally:
        server.shutdown()
        server.server_close()


def write_policy(policy_dir: Path, *extra_lines: str) -> Path:
    """A copy of the bundled default policy with `extra_lines` appended to policy.csv."""
    policy_dir.mkdir(parents=True, exist_ok=True)
    for name in ("model.conf", "policy.csv", "policy_tests.yaml"):
        shutil.copyfile(DEFAULT_POLICY_DIR / name, policy_dir / name)
    with (policy_dir / "policy.csv").open("a") as handle:
        handle.writelines(f"{line}\n" for line in extra_lines)
    return policy_dir


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
    token: str
    """An API token for `alice` with role `user`, created before the gateway started."""

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @asynccontextmanager
    async def client(self, mode: str = "auto", token: str | None = None) -> AsyncIterator[Client]:
        """The real mcp client over Streamable HTTP, presenting `token` (default: alice's)."""
        headers = {"Authorization": f"Bearer {token or self.token}"}
        # The SDK leaves a client it was given open; this one is ours to close.
        async with create_mcp_http_client(headers=headers) as http:
            transport = streamable_http_client(self.mcp_url, http_client=http)
            async with Client(transport, mode=mode, read_timeout_seconds=20) as client:
                yield client


async def create_token(config_file: Path, env: Mapping[str, str], principal: str, *roles: str) -> str:
    """A real API token, issued by the real CLI."""
    command = [*GATEWAY, "token", "create", "--config", str(config_file), "--principal", principal]
    for role in roles:
        command += ["--role", role]
    with anyio.fail_after(60):
        done = await anyio.run_process(command, env=dict(env))
    return done.stdout.decode().strip()


@asynccontextmanager
async def start_http_gateway(config_file: Path, env: Mapping[str, str]) -> AsyncIterator[GatewayProcess]:
    """A real gateway process serving HTTP on a free loopback port; stopped on exit."""
    token = await create_token(config_file, env, "alice", "user")
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
                yield GatewayProcess(process, match.group(1), captured, token)
            finally:
                process.terminate()
                with anyio.fail_after(10):
                    await process.wait()
