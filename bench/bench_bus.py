"""Benchmark: the same `bench.echo` tool through the gateway, hosted in-process (memory bus) and
by a worker over NATS and over Redis, in one run.

    uv run python -m bench.bench_bus [--calls N] [--warmup N] [--rounds N] [--concurrency N] [--json]

Each gateway runs in this process behind the real `mcp.Client` (no transport: what is measured
is the pipeline and the bus), with its default pipeline; for NATS and Redis the cell is
`remote = true` and a real `mcp-gateway worker` process hosts it on a real broker started on a
free loopback port. The three take turns in interleaved rounds, so a slow spell of the shared
machine falls on all of them. Reported: p50/p99 latency and calls/s of sequential calls,
calls/s with `--concurrency` callers, and, against the memory bus, the ratios and the
milliseconds the remote hop adds at p50. A benchmark, not a test: it reports, never judges.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.text import TextReceiveStream
from mcp import Client

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stats import ratio, summarize  # noqa: E402
from mcp_gateway.config import load_config  # noqa: E402
from mcp_gateway.testing import gateway_client  # noqa: E402
from tests.bus.brokers import Broker, running_broker  # noqa: E402

TOOL = "bench__echo"
ARGUMENTS = {"text": "hello world"}
KINDS = ("memory", "nats", "redis")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_config(directory: Path, broker: Broker | None) -> Path:
    directory.mkdir(parents=True)
    remote = "remote = true\n" if broker else ""
    bus = f'\n[bus]\nurl = "{broker.url}"\n' if broker else ""
    path = directory / "gateway.toml"
    path.write_text(
        f'[server]\nstate_dir = "{directory / "state"}"\n\n'
        "[budgets.default]\ncalls_per_minute = 100000000\n\n"
        f'[[cells]]\nmodule = "bench.echo_cell"\n{remote}{bus}'
    )
    return path


@asynccontextmanager
async def worker(config_file: Path) -> AsyncIterator[None]:
    command = [sys.executable, "-m", "mcp_gateway", "worker", "--config", str(config_file), "--cells", "bench"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    async with await anyio.open_process(command, env=env) as process:
        assert process.stderr is not None
        seen = ""
        with anyio.fail_after(30):
            async for chunk in TextReceiveStream(process.stderr):
                seen += chunk
                if "mcp-gateway worker: serving" in seen:
                    break
            else:
                raise RuntimeError(f"the worker exited before serving:\n{seen}")
        try:
            yield
        finally:
            process.terminate()
            with anyio.fail_after(10):
                await process.wait()


async def timed_calls(client: Client, count: int) -> tuple[list[float], float]:
    samples: list[float] = []
    start = time.perf_counter()
    for _ in range(count):
        before = time.perf_counter()
        result = await client.call_tool(TOOL, ARGUMENTS)
        samples.append(time.perf_counter() - before)
        if result.is_error or result.structured_content != ARGUMENTS:
            raise RuntimeError(f"{TOOL} failed: {result.content!r}")
    return samples, time.perf_counter() - start


async def concurrent_calls(client: Client, callers: int, count: int) -> float:
    """calls/s with `callers` sequential callers sharing one client."""
    each = max(1, count // callers)
    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(callers):
            tg.start_soon(timed_calls, client, each)
    return each * callers / (time.perf_counter() - start)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-bus-") as scratch:
        root = Path(scratch)
        async with AsyncExitStack() as stack:
            clients: dict[str, Client] = {}
            for kind in KINDS:
                broker = None
                if kind != "memory":
                    env = {**os.environ, "GOMAXPROCS": str(args.nats_gomaxprocs)} if args.nats_gomaxprocs else None
                    broker = stack.enter_context(running_broker(kind, root / f"{kind}-broker", env))
                config_file = write_config(root / kind, broker)
                if broker is not None:
                    await stack.enter_async_context(worker(config_file))
                gateway = gateway_client(load_config(config_file, {}))
                _, client = await stack.enter_async_context(gateway)
                await client.list_tools()
                await timed_calls(client, args.warmup)
                clients[kind] = client
            progress(f"{args.calls} sequential calls per bus in {args.rounds} interleaved rounds ...")
            samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
            busy = dict.fromkeys(KINDS, 0.0)
            per_round = max(1, args.calls // args.rounds)
            for index in range(args.rounds):
                for kind in KINDS if index % 2 == 0 else tuple(reversed(KINDS)):
                    gc.collect()
                    block, seconds = await timed_calls(clients[kind], per_round)
                    samples[kind] += block
                    busy[kind] += seconds
            progress(f"{args.calls} calls per bus with {args.concurrency} concurrent callers ...")
            concurrent = {kind: await concurrent_calls(clients[kind], args.concurrency, args.calls) for kind in KINDS}
    figures: dict[str, Any] = {
        kind: {**summarize(samples[kind], busy[kind]), "concurrent_calls_per_s": concurrent[kind]} for kind in KINDS
    }
    memory = figures["memory"]
    for kind in ("nats", "redis"):
        figures[kind]["vs_memory"] = {
            "added_p50_ms": figures[kind]["p50_ms"] - memory["p50_ms"],
            "p50": ratio(figures[kind]["p50_ms"], memory["p50_ms"]),
            "calls_per_s": ratio(figures[kind]["calls_per_s"], memory["calls_per_s"]),
            "concurrent_calls_per_s": ratio(concurrent[kind], concurrent["memory"]),
        }
    return {
        "settings": {
            "calls": args.calls,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "concurrency": args.concurrency,
            "nats_gomaxprocs": args.nats_gomaxprocs or "default",
        },
        "environment": {
            "python": platform.python_version(),
            "nats-py": version("nats-py"),
            "redis": version("redis"),
            "cpus": os.cpu_count(),
        },
        "buses": figures,
    }


def render(report: dict[str, Any]) -> str:
    settings, env = report["settings"], report["environment"]
    lines = [
        f"bench.echo through the gateway: {settings['calls']} sequential calls per bus, "
        f"{settings['concurrency']} concurrent callers, nats-server GOMAXPROCS={settings['nats_gomaxprocs']} "
        f"(python {env['python']}, {env['cpus']} CPUs)",
        f"{'bus':<8}{'p50 ms':>9}{'p99 ms':>9}{'calls/s':>10}{'conc. calls/s':>15}"
        f"{'added p50 ms':>14}{'p50 x':>8}{'calls/s x':>11}",
    ]
    for kind, row in report["buses"].items():
        versus = row.get("vs_memory")
        extra = (
            f"{versus['added_p50_ms']:>14.3f}{versus['p50']:>8.2f}{versus['calls_per_s']:>11.2f}"
            if versus
            else f"{'':>14}{'':>8}{'':>11}"
        )
        lines.append(
            f"{kind:<8}{row['p50_ms']:>9.3f}{row['p99_ms']:>9.3f}{row['calls_per_s']:>10.0f}"
            f"{row['concurrent_calls_per_s']:>15.0f}{extra}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--nats-gomaxprocs",
        type=int,
        default=1,
        help="GOMAXPROCS for nats-server (default 1: on a 2-core host shared with the gateway and the worker, "
        "Go's spare threads otherwise take CPU from them; 0 leaves the Go default)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    report = anyio.run(run, args)
    print(json.dumps(report, indent=2) if args.json else render(report))


if __name__ == "__main__":
    main()
