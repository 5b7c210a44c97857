"""The seed's distribution triggers, measured: stay a monolith, or distribute what warrants it.

From SEED.md: monolithic for a trusted environment, up to ~100–150 users, I/O-bound work and
code that fits a context window; distribute on any of untrusted or multi-tenant code, sustained
CPU pressure, very high concurrency, or code beyond ~2 MB. Each trigger is measured from what
this machine and this gateway have recorded:

- concurrency: the peak and the 95th percentile of calls in flight per minute, from the audit
  log (each record's end time and duration give its interval);
- CPU pressure: the kernel's pressure-stall information (`/proc/pressure/cpu`, `some avg300`),
  else the 15-minute load average per core;
- principals: the distinct callers in the audit log's last 30 days, and the API tokens;
- untrusted tools: third-party upstream servers and high-risk tools, and tenants (domains);
- code size: the bytes of Python source of the gateway, the sandbox and the configured cells.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mcp_gateway.audit.query import records

CONCURRENCY_LIMIT = 64
"""Calls in flight, sustained (p95 of per-minute peaks), past which one process is the limit."""
CPU_PRESSURE_LIMIT = 50.0
"""Percent of time some task waited for a CPU (5-minute average)."""
PRINCIPALS_LIMIT = 150
CODE_BYTES_LIMIT = 2_000_000
WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Trigger:
    name: str
    value: float
    limit: float
    fired: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "limit": self.limit, "fired": self.fired, "detail": self.detail}


def concurrency(audit_dir: Path, now: datetime | None = None) -> tuple[int, int]:
    """(peak, p95 of per-minute peaks) of calls in flight over the window."""
    since = (now or datetime.now(UTC)) - WINDOW
    events: list[tuple[datetime, int]] = []
    for record in records(audit_dir):
        if record.get("event") != "tool_call":
            continue
        try:
            end = datetime.fromisoformat(str(record["time"]))
            start = end - timedelta(milliseconds=float(record.get("duration_ms") or 0))
        except (KeyError, ValueError):
            continue
        if end >= since:
            events += [(start, 1), (end, -1)]
    running, peak = 0, 0
    per_minute: Counter[datetime] = Counter()
    for moment, step in sorted(events, key=lambda item: (item[0], item[1])):
        running += step
        peak = max(peak, running)
        minute = moment.replace(second=0, microsecond=0)
        per_minute[minute] = max(per_minute[minute], running)
    minutes = sorted(per_minute.values())
    p95 = minutes[int(0.95 * (len(minutes) - 1))] if minutes else 0
    return peak, p95


def cpu_pressure() -> tuple[float, str]:
    # Kernels without pressure-stall information (or a container hiding it) fall back to load.
    with contextlib.suppress(OSError, ValueError, KeyError):
        for line in Path("/proc/pressure/cpu").read_text().splitlines():
            if line.startswith("some "):
                fields = dict(part.split("=") for part in line.split()[1:])
                return float(fields["avg300"]), "PSI some avg300"
    load = os.getloadavg()[2] / (os.cpu_count() or 1) * 100
    return load, "15-minute load per core"


def principals(audit_dir: Path, token_principals: Iterable[str], now: datetime | None = None) -> int:
    since = (now or datetime.now(UTC)) - WINDOW
    seen = set(token_principals)
    for record in records(audit_dir):
        try:
            if datetime.fromisoformat(str(record["time"])) >= since and record.get("principal"):
                seen.add(str(record["principal"]))
        except (KeyError, ValueError):
            continue
    return len({name for name in seen if not name.startswith("cell:")})


def code_bytes(roots: Sequence[Path]) -> int:
    seen: set[Path] = set()
    total = 0
    for root in roots:
        for path in root.rglob("*.py"):
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                total += path.stat().st_size
    return total


def evaluate(
    *,
    audit_dir: Path,
    token_principals: Iterable[str],
    upstreams: int,
    high_risk_tools: int,
    domains: int,
    code_roots: Sequence[Path],
) -> list[Trigger]:
    peak, sustained = concurrency(audit_dir)
    pressure, source = cpu_pressure()
    callers = principals(audit_dir, token_principals)
    size = code_bytes(code_roots)
    untrusted = upstreams + (1 if domains > 1 else 0)
    return [
        Trigger("concurrency", sustained, CONCURRENCY_LIMIT, sustained > CONCURRENCY_LIMIT,
                f"p95 of per-minute peaks {sustained} calls in flight (peak {peak}) over 30 days"),
        Trigger("cpu pressure", round(pressure, 1), CPU_PRESSURE_LIMIT, pressure > CPU_PRESSURE_LIMIT,
                f"{pressure:.1f}% ({source})"),
        Trigger("principals", callers, PRINCIPALS_LIMIT, callers > PRINCIPALS_LIMIT,
                f"{callers} distinct callers in 30 days and API tokens"),
        Trigger("untrusted tools", untrusted, 0, untrusted > 0,
                f"{upstreams} third-party server(s), {high_risk_tools} high-risk tool(s), {domains} domain(s)"),
        Trigger("code size", size, CODE_BYTES_LIMIT, size > CODE_BYTES_LIMIT, f"{size:,} bytes of Python source"),
    ]  # fmt: skip


def recommendation(triggers: Sequence[Trigger]) -> str:
    fired = [trigger.name for trigger in triggers if trigger.fired]
    if not fired:
        return "stay monolithic: no distribution trigger fired"
    hints = {
        "concurrency": "run several gateways and move busy cells to workers on a shared bus ([bus] url)",
        "cpu pressure": "move CPU-bound cells to `mcp-gateway worker` processes on other machines",
        "principals": "run several gateways behind one bus; keep policy and secrets shared",
        "untrusted tools": "keep third-party servers in the jail, or on workers in their own machines",
        "code size": "split cells into sub-ecosystems with their own workers and APIs",
    }
    return "distribute: " + "; ".join(f"{name} — {hints[name]}" for name in fired)
