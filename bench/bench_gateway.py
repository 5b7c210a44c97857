"""Benchmark: the same `echo` tool through a bare mcp SDK server and through the gateway.

    uv run python bench/bench_gateway.py [--calls N] [--warmup N] [--cold-starts N] [--json]

Measures, in one run and with the real SDK client in its default mode ("auto", i.e. protocol
2026-07-28 when the server speaks it):
  * tool-call latency (p50, p99) and sequential throughput, over stdio and over Streamable HTTP;
  * cold start over stdio: from spawning the process to the answer of the first `tools/list`.
A benchmark, not a test: it reports figures and never judges them. Progress goes to stderr, so
`--json` leaves exactly one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as a script, only bench/ is on sys.path; the project root makes `bench.*` importable.
    sys.path.insert(0, str(ROOT))

from bench.servers import Target, bare_target, gateway_target, http_server, stdio_params, write_gateway_config  # noqa: E402
from bench.stats import ratio, summarize  # noqa: E402

ARGUMENTS = {"text": "hello world"}
TRANSPORTS = ("stdio", "http")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@asynccontextmanager
async def connect(target: Target, transport: str) -> AsyncIterator[Client]:
    if transport == "stdio":
        async with Client(stdio_params(target)) as client:
            yield client
    else:
        async with (
            http_server(target) as url,
            create_mcp_http_client(headers=dict(target.headers)) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            yield client


async def check_echo(client: Client, target: Target) -> None:
    """Fail loudly if the server does not answer as expected: timing errors would be meaningless."""
    result = await client.call_tool(target.tool, ARGUMENTS)
    if result.is_error or result.structured_content != ARGUMENTS:
        raise RuntimeError(f"{target.label}: unexpected echo result {result!r}")


async def timed_calls(client: Client, tool: str, count: int) -> tuple[list[float], float]:
    """`count` sequential calls: the latency of each, and the wall time of the whole block."""
    samples: list[float] = []
    start = time.perf_counter()
    for _ in range(count):
        before = time.perf_counter()
        result = await client.call_tool(tool, ARGUMENTS)
        samples.append(time.perf_counter() - before)
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {result.content!r}")
    return samples, time.perf_counter() - start


def split(total: int, parts: int) -> list[int]:
    """`total` calls in `parts` rounds as even as possible (no empty rounds)."""
    base, extra = divmod(total, parts)
    return [n for n in (base + (i < extra) for i in range(parts)) if n]


async def measure_calls(
    transport: str, targets: Sequence[Target], calls: int, warmup: int, rounds: int
) -> dict[str, Any]:
    """Figures per target, and `ratio` of the second target over the first (the baseline).

    Both servers stay up side by side and take turns, so a slow spell of the (shared, 2-core)
    machine falls on both rather than on whichever happened to run then."""
    async with AsyncExitStack() as stack:
        clients: dict[str, Client] = {}
        for target in targets:
            client = await stack.enter_async_context(connect(target, transport))
            # A real client lists before it calls; the SDK client also needs the listing to
            # validate structured output against the output schema, which both servers declare.
            await client.list_tools()
            await check_echo(client, target)
            await timed_calls(client, target.tool, warmup)
            clients[target.label] = client
        samples: dict[str, list[float]] = {target.label: [] for target in targets}
        busy = dict.fromkeys(samples, 0.0)
        for index, count in enumerate(split(calls, rounds)):
            # Alternate who goes first, so neither always runs right after the other's burst.
            for target in targets if index % 2 == 0 else reversed(targets):
                gc.collect()  # start each block with a clean heap, not the other block's garbage
                block, seconds = await timed_calls(clients[target.label], target.tool, count)
                samples[target.label] += block
                busy[target.label] += seconds
        figures: dict[str, Any] = {
            label: {**summarize(samples[label], busy[label]), "protocol": clients[label].protocol_version}
            for label in samples
        }
    baseline, measured = (figures[target.label] for target in targets[:2])
    figures["ratio"] = {
        "p50": ratio(measured["p50_ms"], baseline["p50_ms"]),
        "calls_per_s": ratio(measured["calls_per_s"], baseline["calls_per_s"]),
    }
    return figures


async def cold_start(target: Target) -> float:
    start = time.perf_counter()
    async with Client(stdio_params(target)) as client:
        listing = await client.list_tools()
        elapsed = time.perf_counter() - start
    if target.tool not in {tool.name for tool in listing.tools}:
        raise RuntimeError(f"{target.label} does not list {target.tool!r}")
    return elapsed


async def measure_cold_starts(targets: Sequence[Target], count: int) -> dict[str, Any]:
    # One untimed start of each first: the first start after editing pays for compiling .pyc
    # files, which is not what a user pays on every start.
    for target in targets:
        await cold_start(target)
    samples: dict[str, list[float]] = {target.label: [] for target in targets}
    for _ in range(count):
        for target in targets:  # alternating, for the same reason as the call rounds
            samples[target.label].append(await cold_start(target))
    figures: dict[str, Any] = {
        label: {
            "starts": len(values),
            "median_ms": statistics.median(values) * 1e3,
            "min_ms": min(values) * 1e3,
            "max_ms": max(values) * 1e3,
        }
        for label, values in samples.items()
    }
    figures["ratio"] = {"median": ratio(figures["gateway"]["median_ms"], figures["bare"]["median_ms"])}
    return figures


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as directory:
        config = write_gateway_config(Path(directory))
        if args.traces:
            config.write_text(config.read_text() + '\n[telemetry]\nexporters = ["jsonl"]\n')
        targets = (bare_target(), gateway_target(config))
        calls: dict[str, Any] = {}
        for transport in TRANSPORTS:
            progress(f"calls over {transport}: warm-up {args.warmup}, then {args.calls} per server ...")
            calls[transport] = await measure_calls(transport, targets, args.calls, args.warmup, args.rounds)
        progress(f"cold starts over stdio: {args.cold_starts} per server ...")
        cold = await measure_cold_starts(targets, args.cold_starts) if args.cold_starts else None
    return {
        "settings": {
            "calls": args.calls,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "cold_starts": args.cold_starts,
            "arguments": ARGUMENTS,
        },
        "environment": {
            "python": platform.python_version(),
            "mcp": version("mcp"),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "calls": calls,
        "cold_start": cold,
    }


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"x{value:.2f}"


def render(report: dict[str, Any]) -> str:
    settings = report["settings"]
    lines = [
        f"Tool calls: {settings['calls']} per server and transport in {settings['rounds']} interleaved rounds, "
        f"after {settings['warmup']} warm-up calls (python {report['environment']['python']}, "
        f"mcp {report['environment']['mcp']}, {report['environment']['cpus']} CPUs)",
        f"{'transport':<10}{'server':<9}{'protocol':<12}{'p50 ms':>9}{'p99 ms':>9}{'calls/s':>10}",
    ]
    for transport, figures in report["calls"].items():
        for label in ("bare", "gateway"):
            row = figures[label]
            lines.append(
                f"{transport:<10}{label:<9}{row['protocol']:<12}"
                f"{row['p50_ms']:>9.3f}{row['p99_ms']:>9.3f}{row['calls_per_s']:>10.0f}"
            )
        ratios = figures["ratio"]
        lines.append(f"{'':<10}gateway/bare: p50 {_times(ratios['p50'])}, calls/s {_times(ratios['calls_per_s'])}")
    cold = report["cold_start"]
    if cold is not None:
        lines.append("")
        lines.append(f"Cold start over stdio (spawn -> first tools/list answer), {settings['cold_starts']} each:")
        for label in ("bare", "gateway"):
            row = cold[label]
            lines.append(
                f"  {label:<9}median {row['median_ms']:8.1f} ms  (min {row['min_ms']:.1f}, max {row['max_ms']:.1f})"
            )
        lines.append(f"  gateway/bare median {_times(cold['ratio']['median'])}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Compare the gateway with a bare mcp SDK server.")
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per server and transport")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per server and transport first")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the timed calls are split into")
    parser.add_argument("--cold-starts", type=int, default=10, help="timed stdio starts per server (0: skip)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--payload-bytes",
        type=int,
        default=0,
        help="echo a text of this many bytes (plain prose) instead of 'hello world'",
    )
    parser.add_argument("--traces", action="store_true", help="the gateway also writes every span to its JSONL file")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.rounds < 1 or args.warmup < 0 or args.cold_starts < 0:
        parser.error("--calls and --rounds must be positive, --warmup and --cold-starts not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.payload_bytes > 0:
        # Prose with nothing for DLP to find: the scan's cost, not its rewriting, is measured.
        words = "the gateway checks every call before the tool sees it and again before the caller does "
        ARGUMENTS["text"] = (words * (args.payload_bytes // len(words) + 1))[: args.payload_bytes]
    report = anyio.run(run, args)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
