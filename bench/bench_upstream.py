"""Benchmark: an upstream MCP server called directly, and the same server through the gateway.

    uv run python -m bench.bench_upstream [--calls N]

The upstream is the bare SDK server of bench/bare_server.py (one `echo` tool). Directly: the SDK
client over stdio to that server. Through the gateway: the SDK client over stdio to
`mcp-gateway serve`, which runs the same server in the jail as `[[upstreams]] name = "up"` and
proxies `up__echo` through its whole pipeline (identity, budget, authz, validation, DLP both
ways). Calls alternate between the two in rounds; p50 and p90 of each and their ratio are printed.
A benchmark, not a test: it reports figures and never judges them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from bench.bench_gateway import timed_calls
from bench.servers import ROOT, environment
from bench.stats import percentile


def gateway_config(directory: Path) -> Path:
    path = directory / "gateway.toml"
    path.write_text(
        f'[server]\nstate_dir = "{directory / "state"}"\n\n'
        "[budgets.default]\ncalls_per_minute = 100000000\n\n"
        '[[cells]]\nmodule = "cells.gateway"\n\n'
        f'[[upstreams]]\nname = "up"\ncommand = ["{sys.executable}", "-I", "{ROOT / "bench" / "bare_server.py"}"]\n'
        f'read_only = ["{ROOT}"]\n'
    )
    return path


async def timed(client: Client, tool: str, calls: int) -> list[float]:
    samples, _ = await timed_calls(client, tool, calls)
    return samples


async def main_async(calls: int, rounds: int) -> None:
    bare = StdioServerParameters(
        command=sys.executable, args=[str(ROOT / "bench" / "bare_server.py")], env=environment(), cwd=ROOT
    )
    with tempfile.TemporaryDirectory() as scratch:
        gateway = StdioServerParameters(
            command=sys.executable,
            args=["-m", "mcp_gateway", "serve", "--config", str(gateway_config(Path(scratch)))],
            env=environment(),
            cwd=ROOT,
        )
        direct: list[float] = []
        proxied: list[float] = []
        async with Client(bare, read_timeout_seconds=30) as a, Client(gateway, read_timeout_seconds=60) as b:
            await timed(a, "echo", 50)
            await timed(b, "up__echo", 50)  # also waits for the DLP engine to load
            for _ in range(rounds):
                direct += await timed(a, "echo", calls // rounds)
                proxied += await timed(b, "up__echo", calls // rounds)
    d50, p50 = percentile(direct, 50) * 1e3, percentile(proxied, 50) * 1e3
    print(f"direct  (SDK client -> server)            p50 {d50:6.2f} ms  p90 {percentile(direct, 90) * 1e3:6.2f} ms")
    print(
        f"proxied (client -> gateway -> jailed server) p50 {p50:6.2f} ms  p90 {percentile(proxied, 90) * 1e3:6.2f} ms"
    )
    print(f"proxied/direct p50 x{p50 / d50:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    anyio.run(main_async, args.calls, args.rounds)


if __name__ == "__main__":
    main()
