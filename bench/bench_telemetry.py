"""Benchmark: what telemetry costs a tool call — the same gateway with telemetry off and on.

    uv run python -m bench.bench_telemetry [--calls N] [--warmup N] [--rounds N] [--json]

"On" is what an auditor-facing deployment runs: spans to the JSONL file (a span per call and per
stage, the call's summary attributes) and metrics (the duration histogram and the counters).
Over stdio metrics have no reader unless OTLP is configured, so stdio measures spans only; over
Streamable HTTP the Prometheus reader behind `/metrics` is on too. The two gateways run side by
side and take turns, like bench_gateway.py, so a slow spell of the machine falls on both.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_gateway import measure_calls, progress  # noqa: E402
from bench.servers import Target, gateway_target, write_gateway_config  # noqa: E402

SETTINGS = {
    "off": '\n[telemetry]\nexporter = "none"\nmetrics = false\n',
    "on": '\n[telemetry]\nexporters = ["jsonl"]\n',  # metrics: on by default when HTTP is served
}


def _target(directory: Path, label: str) -> Target:
    home = directory / label
    home.mkdir()
    config = write_gateway_config(home)
    config.write_text(config.read_text() + SETTINGS[label])
    target = gateway_target(config)
    return Target(label, target.args, target.http_args, target.tool, target.headers)


async def measure(transport: str, targets: Sequence[Target], calls: int, warmup: int, rounds: int) -> dict[str, Any]:
    figures = await measure_calls(transport, targets, calls, warmup, rounds)  # targets: off, then on
    figures["added_p50_us"] = (figures["on"]["p50_ms"] - figures["off"]["p50_ms"]) * 1000
    return figures


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as directory:
        targets = (_target(Path(directory), "off"), _target(Path(directory), "on"))
        report: dict[str, Any] = {}
        for transport in ("stdio", "http"):
            progress(f"telemetry off/on over {transport}: warm-up {args.warmup}, then {args.calls} calls each ...")
            report[transport] = await measure(transport, targets, args.calls, args.warmup, args.rounds)
        spans = Path(directory) / "on" / "state" / "telemetry" / "spans.jsonl"
        report["span_file_bytes"] = spans.stat().st_size if spans.exists() else 0
    return report


def render(report: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"Telemetry off vs on (spans to JSONL; metrics too over HTTP): {args.calls} calls each in {args.rounds} rounds",
        f"{'transport':<10}{'telemetry':<11}{'p50 ms':>9}{'p99 ms':>9}{'calls/s':>10}",
    ]
    for transport in ("stdio", "http"):
        figures = report[transport]
        for label in ("off", "on"):
            row = figures[label]
            lines.append(
                f"{transport:<10}{label:<11}{row['p50_ms']:>9.3f}{row['p99_ms']:>9.3f}{row['calls_per_s']:>10.0f}"
            )
        ratios = figures["ratio"]
        lines.append(
            f"{'':<10}on/off: p50 x{ratios['p50']:.2f} ({figures['added_p50_us']:+.0f} µs a call), "
            f"calls/s x{ratios['calls_per_s']:.2f}"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="What telemetry costs a gateway tool call.")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--calls and --rounds must be positive, --warmup not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = anyio.run(run, args)
    print(json.dumps(report, indent=2) if args.json else render(report, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
