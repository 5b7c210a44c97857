"""How the benchmark starts the two servers: the bare SDK server and the gateway with the echo cell.

Both are launched the same way (`sys.executable`, same environment, same working directory), so
the only difference between them is the code they run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.streams.text import TextReceiveStream
from mcp import StdioServerParameters
from mcp.client.stdio import get_default_environment

ROOT = Path(__file__).resolve().parent.parent
_ANNOUNCE = re.compile(r"Streamable HTTP on (http://\S+/mcp)")
ANNOUNCE_TIMEOUT = 30.0


@dataclass(frozen=True)
class Target:
    """One server under test: what to run, and the wire name of its echo tool."""

    label: str
    args: tuple[str, ...]
    """Arguments after `sys.executable` for stdio; `http_args` are appended for HTTP."""
    http_args: tuple[str, ...]
    tool: str
    headers: tuple[tuple[str, str], ...] = ()
    """HTTP headers the client sends (the gateway's bearer token)."""


def bare_target() -> Target:
    return Target("bare", (str(ROOT / "bench" / "bare_server.py"),), ("--transport", "http"), "echo")


def gateway_target(config_file: Path) -> Target:
    # HTTP requires a bearer token and the policy decides: an admin token may call the echo tool,
    # so the run measures identity, budget and authz as a real deployment has them.
    command = [sys.executable, "-m", "mcp_gateway", "token", "create", "--config", str(config_file)]
    created = subprocess.run(
        [*command, "--principal", "bench", "--role", "admin"],
        capture_output=True,
        text=True,
        check=True,
        env=environment(),
    )
    return Target(
        "gateway",
        ("-m", "mcp_gateway", "serve", "--config", str(config_file)),
        ("--transport", "http", "--port", "0"),
        "bench__echo",
        (("Authorization", f"Bearer {created.stdout.strip()}"),),
    )


def write_gateway_config(directory: Path) -> Path:
    """A gateway.toml with a throw-away state dir and the echo cell only."""
    path = directory / "gateway.toml"
    # Budgets stay on (their cost is part of the figure) with a rate limit no benchmark reaches.
    path.write_text(
        f'[server]\nstate_dir = "{directory / "state"}"\n\n'
        "[budgets.default]\ncalls_per_minute = 100000000\n\n"
        '[[cells]]\nmodule = "bench.echo_cell"\n'
    )
    return path


def environment() -> dict[str, str]:
    # The SDK's stdio client passes only a safe subset of our environment; the HTTP servers get
    # the same subset. PYTHONPATH makes `bench.echo_cell` importable by the gateway.
    return {**get_default_environment(), "PYTHONPATH": str(ROOT)}


def stdio_params(target: Target) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=list(target.args), env=environment(), cwd=ROOT)


@asynccontextmanager
async def http_server(target: Target) -> AsyncIterator[str]:
    """Run `target` over Streamable HTTP on a free loopback port; yields its /mcp URL."""
    command = [sys.executable, *target.args, *target.http_args]
    async with await anyio.open_process(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=environment(), cwd=ROOT
    ) as process:
        assert process.stderr is not None
        chunks = TextReceiveStream(process.stderr)
        seen = ""
        with anyio.fail_after(ANNOUNCE_TIMEOUT):
            async for chunk in chunks:
                seen += chunk
                if match := _ANNOUNCE.search(seen):
                    break
            else:
                raise RuntimeError(f"{target.label} exited before serving HTTP:\n{seen}")

        async def drain() -> None:
            # A full stderr pipe would block the server mid-benchmark; keep it empty.
            async for _ in chunks:
                pass

        async with anyio.create_task_group() as tg:
            tg.start_soon(drain)
            try:
                yield match.group(1)
            finally:
                process.terminate()
                with anyio.fail_after(10):
                    await process.wait()
                tg.cancel_scope.cancel()
