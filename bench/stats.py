"""Summaries of latency samples (seconds in, milliseconds out)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): always a latency that was actually observed."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: Sequence[float], busy_seconds: float) -> dict[str, Any]:
    """`busy_seconds` is the wall time of the timed blocks: calls/s counts the client's own
    overhead between calls too, as a sequential caller would see it."""
    return {
        "calls": len(samples),
        "p50_ms": percentile(samples, 50) * 1e3,
        "p99_ms": percentile(samples, 99) * 1e3,
        "mean_ms": statistics.fmean(samples) * 1e3,
        "calls_per_s": len(samples) / busy_seconds,
    }


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None
