"""Benchmark: a durable audit append under concurrency, and `audit verify`, in one run.

    uv run python -m bench.bench_audit [--records N] [--callers C]

Measures, on a real file in a temporary directory on the same disk as the state dir:
  * the baseline: one fsync'd JSONL append per call, one caller at a time (what a log without
    group commit costs each call);
  * our writer (chain + group commit + checkpoints) with 1 caller and with C concurrent
    callers: p50/p99 latency of `append` as each caller sees it, and records/s;
  * `verify` over the log written: records/s, against plain line reading.
Prints the ratios. A benchmark, not a test: it reports figures and never judges them.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import anyio

from bench.stats import percentile
from mcp_gateway.audit.checkpoints import Checkpointer, signing_key
from mcp_gateway.audit.keys import AuditKeys
from mcp_gateway.audit.verify import verify
from mcp_gateway.audit.writer import AuditWriter

KEYS = AuditKeys(os.urandom(32), os.urandom(32), os.urandom(32))
RECORD = {
    "event": "tool_call", "time": "2026-12-01T00:00:00.000000+00:00", "principal": "alice", "roles": ["dev"],
    "domain": "default", "transport": "stdio", "tool": "fs.read_file", "decision": "allow",
    "rule": ["role:dev", "*", "fs.*", "call", "allow"], "outcome": "ok",
    "dlp": {"ingress": [], "egress": [{"entity": "EMAIL_ADDRESS", "path": "$.content[0].text", "action": "mask"}]},
    "budget": {"remaining": {"calls_per_minute": 57}}, "duration_ms": 1.234, "arguments_hmac": "ab" * 32,
    "result_bytes": 1024, "result_hmac": "cd" * 32, "trace_id": "0" * 32, "request_id": "7",
}  # fmt: skip


def baseline(path: Path, count: int) -> list[float]:
    line = (json.dumps(RECORD) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    samples = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            os.write(fd, line)
            os.fsync(fd)
            samples.append(time.perf_counter() - start)
    finally:
        os.close(fd)
    return samples


async def ours(root: Path, count: int, callers: int) -> tuple[list[float], float]:
    points = Checkpointer(root / "points", signing_key(KEYS.checkpoint_seed), 1000, 60)
    samples: list[float] = []
    async with AuditWriter(root / "log", KEYS.chain, checkpointer=points).serving() as writer:

        async def caller(share: int) -> None:
            for _ in range(share):
                start = time.perf_counter()
                await writer.append(RECORD)
                samples.append(time.perf_counter() - start)

        began = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(callers):
                tg.start_soon(caller, count // callers)
        return samples, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--verify-records", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp)
        base = baseline(root / "plain.jsonl", args.records // 4)
        single, _ = anyio.run(ours, root / "one", args.records // 4, 1)
        many, wall = anyio.run(ours, root / "many", args.records, args.callers)
        b50, s50, m50 = (percentile(x, 50) * 1e3 for x in (base, single, many))
        print(f"plain fsync'd append, 1 caller      p50 {b50:.3f} ms  p99 {percentile(base, 99) * 1e3:.3f} ms")
        print(f"audit append, 1 caller              p50 {s50:.3f} ms  (x{s50 / b50:.2f} of plain)")
        m99 = percentile(many, 99) * 1e3
        print(
            f"audit append, {args.callers} concurrent callers  p50 {m50:.3f} ms  p99 {m99:.3f} ms"
            f"  {len(many) / wall:,.0f} records/s  (x{m50 / b50:.2f} of a plain append each)"
        )
        big = root / "big"
        anyio.run(ours, big, args.verify_records, 64)
        start = time.perf_counter()
        lines = sum(1 for path in sorted((big / "log").glob("audit-*.jsonl")) for _ in path.open("rb"))
        read = time.perf_counter() - start
        start = time.perf_counter()
        report = verify(big / "log", KEYS.chain, big / "points", KEYS.public_key)
        took = time.perf_counter() - start
        assert report.ok and report.records == lines, report.problem
        print(
            f"verify {report.records:,} records: {report.records / took:,.0f} records/s "
            f"(reading the lines alone: {lines / read:,.0f}/s, x{took / read:.1f})"
        )


if __name__ == "__main__":
    main()
