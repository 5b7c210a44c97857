"""Benchmark: a jailed call, against starting Python cold without a jail, in one run.

    uv run python -m bench.bench_jail [--calls N]

Measures p50/p90 of: `python -I -c pass` as a plain subprocess (the baseline); the same as a
one-shot jailed command (sandbox.runner: launcher, namespaces, Landlock, seccomp, cgroup); and a
snippet in a warm zygote's fresh forked worker (sandbox.pool), every layer on. Prints the ratios.
A benchmark, not a test: it reports figures and never judges them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from bench.stats import percentile
from sandbox.pool import ZygotePool
from sandbox.profile import Profile
from sandbox.runner import run

PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")


async def timed(calls: int, fn: Callable[[], Awaitable[object]]) -> list[float]:
    await fn()
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - start)
    return out


def row(label: str, samples: list[float], base: float | None) -> str:
    p50 = percentile(samples, 50) * 1e3
    ratio = f"  x{p50 / base:.2f} of cold python" if base else ""
    return f"{label:<28} p50 {p50:8.2f} ms  p90 {percentile(samples, 90) * 1e3:8.2f} ms{ratio}"


async def main_async(calls: int) -> None:
    async def cold() -> None:
        await anyio.to_thread.run_sync(lambda: subprocess.run([PYTHON, "-I", "-c", "pass"], check=True, env={}))

    profile = Profile()
    oneshot = await timed(max(5, calls // 5), lambda: run([PYTHON, "-I", "-c", "pass"], profile))
    baseline = await timed(max(5, calls // 5), cold)
    async with ZygotePool(profile, size=1) as pool:
        warm = await timed(calls, lambda: pool.run_python("pass"))
        argv = await timed(calls, lambda: pool.run(["/bin/true"]))
    base = percentile(baseline, 50) * 1e3
    print(row("cold python -I (no jail)", baseline, None))
    print(row("one-shot jailed python -I", oneshot, base))
    print(row("zygote: python snippet", warm, base))
    print(row("zygote: /bin/true", argv, base))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    anyio.run(main_async, parser.parse_args().calls)


if __name__ == "__main__":
    main()
