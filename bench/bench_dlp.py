"""Benchmark: DLP scanning over the labelled corpus, fast path against Presidio's full engine.

    uv run python -m bench.bench_dlp [--repeat N] [--without ENTITY ...] [--json]

For every corpus record (tests/data/dlp_corpus.jsonl; ~1 KB and ~10 KB payloads), in one run:
  * full: Presidio's `AnalyzerEngine.analyze` on every string leaf (the baseline);
  * fast: the gateway's scanner with its cache off (every payload seen for the first time);
  * fast, cached: the same payloads again with the per-leaf cache warm;
  * service: the whole ingress or egress step (walk, scan, decide, rewrite) as the stage runs it,
    caches on, each payload seen once (always with dlp.yaml's full entity list; `--without`
    leaves entities out of the other three only).
Each timing walks the payload into leaves and scans them. It also checks that fast and full find
exactly the same, and reports recall on the planted entities (a planted value counts as found
when a finding of its entity type covers it) and precision (findings that cover no planted value
of their type count against it; findings are settled as the gateway settles them: below
dlp.yaml's min_score, or generic inside specific, they do not count).
A benchmark, not a test: it reports figures and never judges them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import anyio
import mcp.types as t

from bench.stats import percentile, ratio
from mcp_gateway.dlp.config import DlpConfig
from mcp_gateway.dlp.leaves import json_leaves, result_leaves
from mcp_gateway.dlp.model import Finding, Leaf
from mcp_gateway.dlp.runtime import DlpRuntime
from mcp_gateway.dlp.scanner import FastScanner, FullScanner
from mcp_gateway.dlp.settle import settle
from mcp_gateway.errors import DataBlocked
from mcp_gateway.pipeline import ToolResult
from mcp_gateway.sdk import Principal

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "dlp_corpus.jsonl"


def load_corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def as_result(payload: dict[str, Any]) -> ToolResult:
    content = [t.TextContent(type="text", text=block["text"]) for block in payload.get("content", [])]
    return ToolResult(content=list(content), structured=payload.get("structuredContent"))


def leaves_of(record: dict[str, Any]) -> list[Leaf]:
    if record["direction"] == "egress":
        return result_leaves(as_result(record["payload"]))
    return json_leaves(record["payload"])


def time_per_record(
    records: Sequence[dict[str, Any]], scan: Callable[[list[Leaf]], object], repeat: int
) -> list[float]:
    """Best of `repeat` per record (the least disturbed by the rest of the machine)."""
    out = []
    for record in records:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            scan(leaves_of(record))
            best = min(best, time.perf_counter() - start)
        out.append(best)
    return out


def covers(finding: Finding, leaf_text: str, value: str) -> bool:
    start = leaf_text.find(value)
    while start != -1:
        if finding.start <= start and start + len(value) <= finding.end:
            return True
        start = leaf_text.find(value, start + 1)
    return False


def quality(records: Sequence[dict[str, Any]], fast: FastScanner, runtime: DlpRuntime) -> dict[str, Any]:
    planted_total: Counter[str] = Counter()
    planted_found: Counter[str] = Counter()
    true_pos: Counter[str] = Counter()
    all_pos: Counter[str] = Counter()
    missed: list[str] = []
    for record in records:
        leaves = leaves_of(record)
        texts = {leaf.path: leaf.text for leaf in leaves}
        findings = settle(fast.scan(leaves), runtime.policy.min_score)
        by_path: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            by_path[finding.path].append(finding)
        for item in record["planted"]:
            entity, path, value = item["entity"], item["path"], item["value"]
            planted_total[entity] += 1
            if any(f.entity == entity and covers(f, texts.get(path, ""), value) for f in by_path[path]):
                planted_found[entity] += 1
            else:
                missed.append(f"{record['id']} {entity} {path}")
        for finding in findings:
            all_pos[finding.entity] += 1
            planted_here = [p for p in record["planted"] if p["path"] == finding.path and p["entity"] == finding.entity]
            if any(covers(finding, texts[finding.path], p["value"]) for p in planted_here):
                true_pos[finding.entity] += 1
    entities = sorted(set(planted_total) | set(all_pos))
    return {
        "recall": sum(planted_found.values()) / max(1, sum(planted_total.values())),
        "precision": sum(true_pos.values()) / max(1, sum(all_pos.values())),
        "per_entity": {
            e: {
                "planted": planted_total[e],
                "recall": planted_found[e] / planted_total[e] if planted_total[e] else None,
                "findings": all_pos[e],
                "precision": true_pos[e] / all_pos[e] if all_pos[e] else None,
            }
            for e in entities
        },
        "missed": missed[:20],
    }


def service_times(records: Sequence[dict[str, Any]], runtime: DlpRuntime) -> list[float]:
    async def run() -> list[float]:
        service = runtime.build()
        principal = Principal("bench", roles=("user",))
        out = []
        for record in records:
            start = time.perf_counter()
            if record["direction"] == "egress":
                await service.outbound("fs.read_file", principal, as_result(record["payload"]))
            else:
                payload = record["payload"] if isinstance(record["payload"], dict) else {"value": record["payload"]}
                with contextlib.suppress(DataBlocked):  # a blocked payload is a finished step too
                    await service.inbound("fs.write_file", principal, payload)
            out.append(time.perf_counter() - start)
        return out

    return anyio.run(run)


def by_shape(
    records: Sequence[dict[str, Any]], full: FullScanner, fast: FastScanner, repeat: int
) -> dict[str, dict[str, float]]:
    """p50 per kind of payload (prose, code, logs, tables...): digit-dense text costs the most."""
    out = {}
    for shape in sorted({r["shape"] for r in records}):
        subset = [r for r in records if r["shape"] == shape]
        out[shape] = {
            "records": len(subset),
            "full_p50_ms": percentile(time_per_record(subset, full.scan, repeat), 50) * 1e3,
            "fast_p50_ms": percentile(time_per_record(subset, fast.scan, repeat), 50) * 1e3,
        }
    return out


def summary(samples: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": percentile(samples, 50) * 1e3, "p90_ms": percentile(samples, 90) * 1e3}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--without", action="append", default=[], metavar="ENTITY", help="leave an entity out of both scanners (repeat)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as state:
        runtime = DlpRuntime(DlpConfig(), policy_dir=ROOT / "policies", state_dir=Path(state))
        started = time.perf_counter()
        runtime.build()
        engine = runtime.engine
        for entity in args.without:  # what leaving an entity out of dlp.yaml would cost and save
            engine.recognizers.pop(entity, None)
            engine.active = tuple(e for e in engine.active if e != entity)
        build_s = time.perf_counter() - started
        full, fast = FullScanner(engine), FastScanner(engine, cache_entries=0)
        cached = FastScanner(engine)
        records = load_corpus()
        identical = all(fast.scan(leaves_of(r)) == full.scan(leaves_of(r)) for r in records)
        for record in records:
            cached.scan(leaves_of(record))  # warm
        report: dict[str, Any] = {"records": len(records), "engine_build_s": build_s, "identical": identical}
        for size in ("1k", "10k"):
            subset = [r for r in records if r["size"] == size]
            timings = {
                "full": summary(time_per_record(subset, full.scan, args.repeat)),
                "fast": summary(time_per_record(subset, fast.scan, args.repeat)),
                "fast_cached": summary(time_per_record(subset, cached.scan, args.repeat)),
                "service": summary(service_times(subset, runtime)),
            }
            timings["speedup_p50"] = ratio(timings["full"]["p50_ms"], timings["fast"]["p50_ms"])  # type: ignore[assignment]
            report[size] = {"records": len(subset), **timings}
        report["by_shape_1k"] = by_shape([r for r in records if r["size"] == "1k"], full, fast, args.repeat)
        report["quality"] = quality(records, fast, runtime)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"corpus: {report['records']} records; engine built in {build_s:.2f} s; fast == full: {identical}")
    for size in ("1k", "10k"):
        r = report[size]
        print(
            f"{size:>4} ({r['records']} records) p50/p90 ms: full {r['full']['p50_ms']:.3f}/{r['full']['p90_ms']:.3f}"
            f"  fast {r['fast']['p50_ms']:.3f}/{r['fast']['p90_ms']:.3f}"
            f"  cached {r['fast_cached']['p50_ms']:.3f}/{r['fast_cached']['p90_ms']:.3f}"
            f"  service {r['service']['p50_ms']:.3f}/{r['service']['p90_ms']:.3f}"
            f"  full/fast x{r['speedup_p50']:.1f}"
        )
    print("1k by shape, p50 ms (full -> fast):")
    for shape, row in report["by_shape_1k"].items():
        print(f"  {shape:<7} ({row['records']:>3}) {row['full_p50_ms']:8.3f} -> {row['fast_p50_ms']:7.3f}")
    q = report["quality"]
    print(f"recall {q['recall']:.4f}  precision {q['precision']:.4f}")
    for entity, row in q["per_entity"].items():
        rec = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        pre = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        print(
            f"  {entity:<20} planted {row['planted']:>4} recall {rec:>6}  findings {row['findings']:>5} precision {pre}"
        )
    if q["missed"]:
        print("missed:", *q["missed"], sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
