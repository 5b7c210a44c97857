"""The load and fault suite, short: concurrent HTTP clients with a mix of allowed, refused,
DLP-redacted, jailed and failing calls against a real gateway process while faults are injected.
Zero protocol errors, bounded RSS growth, every acknowledged call in the verified audit log;
latency percentiles are printed. `LOAD_CLIENTS` and `LOAD_SECONDS` make it the long run by hand
(e.g. LOAD_CLIENTS=50 LOAD_SECONDS=60).

Two runs, so that each fault meets a gateway that has it: one in a single process (the policy
file corrupted, a jail zygote killed, a cell raising), one distributed over a real NATS broker
with the notes cell on a worker (the broker restarted, the audit disk filled to the last byte,
a cell raising)."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from mcp_gateway.audit.access import audit_paths, open_keys
from mcp_gateway.audit.query import records
from mcp_gateway.config import load_config
from tests.bus.brokers import Broker, running_broker
from tests.bus.workers import start_workers
from tests.support import GATEWAY, GatewayProcess, create_token, start_http_gateway, write_config, write_policy

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "8"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "12"))
RSS_GROWTH_LIMIT_MB = 96
AUDIT_DISK = "64m"

KINDS = ["allowed", "allowed", "dlp", "jailed", "faulty", "delete"]
"""`delete` is allowed for most clients and refused for readers."""
EXPECTED_REFUSALS = {
    "Unknown tool": "refused",  # a reader's forbidden tool reads as unknown
    "audit log cannot be written": "audit_refused",  # fail closed on a full audit disk
}
UNAVAILABLE = ("the bus is not connected", "did not answer within", "no worker serves")
"""How a remote call fails cleanly while its broker restarts."""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _zygotes(gateway_pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-f", "sandbox.zygote"], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split() if _is_descendant(int(pid), gateway_pid)]


def _is_descendant(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return False


def _text(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


@dataclass
class Tally:
    """What the clients saw."""

    acknowledged: list[dict[str, Any]] = field(default_factory=list)
    """Arguments of every call a client got a result for: each must be in the audit log."""
    latencies: dict[str, list[float]] = field(default_factory=dict)
    protocol_errors: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    last_ok: dict[str, float] = field(default_factory=dict)
    """Per kind, the monotonic time of the last call that succeeded."""

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def report(self, title: str, rss: tuple[float, float]) -> None:
        print(f"\n{title}: {CLIENTS} clients x {SECONDS:g} s; gateway RSS {rss[0]:.0f} -> {rss[1]:.0f} MB")
        print(f"  outcomes {dict(sorted(self.outcomes.items()))}")
        for kind, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            p50, p99 = ordered[len(ordered) // 2] * 1e3, ordered[int(len(ordered) * 0.99)] * 1e3
            print(f"  {kind:8} {len(ordered):5} calls  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms")


Faults = Callable[[], Awaitable[None]]


async def run_clients(gateway: GatewayProcess, reader: str, tally: Tally, faults: Faults) -> None:
    """CLIENTS sessions calling for SECONDS (every fourth as a reader, whose deletes are refused)
    while `faults` runs."""

    async def client(index: int) -> None:
        rng = random.Random(index)
        token = reader if index % 4 == 3 else None
        async with gateway.client(token=token) as session:
            deadline = time.monotonic() + SECONDS
            serial = 0
            while time.monotonic() < deadline:
                serial += 1
                kind = rng.choice(KINDS)
                key = f"c{index}-{serial}"
                tool, arguments = {
                    "allowed": ("notes__put", {"key": key, "text": "ordinary"}),
                    "dlp": ("notes__put", {"key": key, "text": f"mail {key}@example.org"}),
                    "jailed": ("exec__python", {"code": "print(6 * 7)"}),
                    "faulty": ("faulty__fail", {}),
                    "delete": ("notes__delete", {"key": key}),
                }[kind]
                started = time.perf_counter()
                try:
                    result = await session.call_tool(tool, arguments)
                except MCPError as exc:
                    expected = [name for text, name in EXPECTED_REFUSALS.items() if text in exc.error.message]
                    if not expected:
                        tally.protocol_errors.append(f"{tool}: {exc.error.message}")
                    tally.count(expected[0] if expected else "protocol_error")
                    continue
                tally.latencies.setdefault(kind, []).append(time.perf_counter() - started)
                tally.acknowledged.append(arguments)
                if kind == "faulty":
                    assert "Traceback" not in _text(result) and "(ref " in _text(result)
                if result.is_error and kind != "faulty":
                    unavailable = any(text in _text(result) for text in UNAVAILABLE)
                    tally.count(f"{kind}:unavailable" if unavailable else f"{kind}:error")
                    continue
                tally.count(f"{kind}:{'error' if result.is_error else 'ok'}")
                tally.last_ok[kind] = time.monotonic()

    async with anyio.create_task_group() as tg:
        tg.start_soon(faults)
        for index in range(CLIENTS):
            tg.start_soon(client, index)


def assert_nothing_acknowledged_lost(config: Path, tally: Tally) -> None:
    """Every call a client got a result for is in the audit log, and the log verifies."""
    loaded = load_config(config, {})
    keys = open_keys(loaded)
    logged = {record.get("arguments_hmac") for record in records(audit_paths(loaded)[0])}
    missing = [args for args in tally.acknowledged if keys.values_hash(args) not in logged]
    assert not missing, f"{len(missing)} acknowledged calls are not in the audit log"
    verified = subprocess.run(
        [*GATEWAY, "audit", "verify", "--config", str(config)], capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stdout


def assert_survived(title: str, tally: Tally, rss: tuple[float, float], stderr: str) -> None:
    """Report the run, then: no protocol error, every kind of call seen, bounded RSS, and a
    raising cell's traceback in the operator's log (the client read only a reference)."""
    tally.report(title, rss)
    assert not tally.protocol_errors, tally.protocol_errors[:5]
    outcomes = tally.outcomes
    assert outcomes.get("allowed:ok", 0) > 0 and outcomes.get("jailed:ok", 0) > 0, outcomes
    assert outcomes.get("faulty:error", 0) > 0 and outcomes.get("refused", 0) > 0, outcomes
    rss_start, rss_end = rss
    assert rss_end - rss_start < RSS_GROWTH_LIMIT_MB, (rss_start, rss_end)
    assert "tool faulty.fail failed (ref " in stderr


@pytest.mark.req("R-044")
async def test_mixed_load_with_faults(tmp_path: Path, clean_env: dict[str, str]) -> None:
    policy = write_policy(
        tmp_path / "policy", "p, alice, *, exec.python, call, allow", "p, alice, *, faulty.*, call, allow"
    )
    extra = (
        f'\n[authz]\npolicy_dir = "{policy}"\n\n[budgets]\nenabled = false\n\n[jail]\npool_size = 2\n'
        '\n[[cells]]\nmodule = "cells.exec"\n\n[[cells]]\nmodule = "tests.load.faulty_cell"\n'
    )
    config = write_config(tmp_path / "g.toml", tmp_path / "state", extra)
    tally = Tally()

    async with start_http_gateway(config, clean_env) as gateway:
        reader = await create_token(config, clean_env, "rita", "reader")
        pid = gateway.process.pid
        await anyio.sleep(1.0)
        rss_start = _rss_mb(pid)

        async def faults() -> None:
            await anyio.sleep(SECONDS / 4)
            policy_file = policy / "policy.csv"
            good = policy_file.read_text()
            policy_file.write_text("this is not, a policy\n")  # rejected: the last good one stays
            await anyio.sleep(SECONDS / 4)
            policy_file.write_text(good)
            for zygote in _zygotes(pid)[:1]:
                os.kill(zygote, signal.SIGKILL)  # the pool replaces it; its call fails cleanly

        await run_clients(gateway, reader, tally, faults)
        rss_end = _rss_mb(pid)
        stderr = "".join(gateway.stderr)

    assert_survived("load", tally, (rss_start, rss_end), stderr)
    assert_nothing_acknowledged_lost(config, tally)


def _distributed_config(tmp_path: Path, broker: Broker, audit_dir: Path) -> Path:
    """The notes cell on workers over `broker`; exec and the faulty cell in the gateway; the
    audit log on its own small disk."""
    policy = write_policy(
        tmp_path / "policy", "p, alice, *, exec.python, call, allow", "p, alice, *, faulty.*, call, allow"
    )
    config = tmp_path / "g.toml"
    config.write_text(f"""
[server]
state_dir = "{tmp_path / "state"}"
principal = "alice"

[[cells]]
module = "cells.notes"
remote = true
timeout = 5

[[cells]]
module = "cells.exec"

[[cells]]
module = "tests.load.faulty_cell"

[authz]
policy_dir = "{policy}"

[budgets]
enabled = false

[jail]
pool_size = 2

[audit]
directory = "{audit_dir}"

[bus]
url = "{broker.url}"
prefix = "load{uuid.uuid4().hex[:10]}"
heartbeat = 0.3
reconnect_wait = 0.1
""")
    return config


def _fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; the caller removes it to free the disk."""
    filler = disk / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        while True:  # the last partial megabyte too
            try:
                out.write(b"\0" * 512)
            except OSError:
                break
    return filler


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs for the audit disk needs root")
@pytest.mark.req("R-044")
async def test_distributed_load_with_a_broker_restart_and_a_full_audit_disk(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    disk = tmp_path / "audit-disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={AUDIT_DISK}", "tmpfs", str(disk)], check=True)
    try:
        await _distributed_run(tmp_path, disk, {**clean_env, "PYTHONPATH": str(ROOT)})
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=False)


async def _distributed_run(tmp_path: Path, disk: Path, env: Mapping[str, str]) -> None:
    tally = Tally()
    restarted_at = freed_at = 0.0
    with running_broker("nats", tmp_path / "nats") as broker:
        config = _distributed_config(tmp_path, broker, disk)
        async with start_workers(config, env, count=2, cells="notes"), start_http_gateway(config, env) as gateway:
            reader = await create_token(config, env, "rita", "reader")
            pid = gateway.process.pid
            await anyio.sleep(1.0)
            rss_start = _rss_mb(pid)

            async def faults() -> None:
                nonlocal restarted_at, freed_at
                await anyio.sleep(SECONDS / 5)
                filler = await anyio.to_thread.run_sync(_fill, disk)  # every call is refused: fail closed
                await anyio.sleep(SECONDS / 10)
                filler.unlink()
                freed_at = time.monotonic()
                await anyio.sleep(SECONDS / 5)
                await anyio.to_thread.run_sync(broker.stop)  # remote calls fail cleanly meanwhile
                await anyio.sleep(SECONDS / 10)
                await anyio.to_thread.run_sync(broker.start)  # gateway and workers reconnect
                restarted_at = time.monotonic()

            await run_clients(gateway, reader, tally, faults)
            rss_end = _rss_mb(pid)
            stderr = "".join(gateway.stderr)

    assert_survived("distributed load", tally, (rss_start, rss_end), stderr)
    outcomes = tally.outcomes
    assert outcomes.get("audit_refused", 0) > 0, outcomes  # the full disk was met, and refused calls
    # ...and survived: remote calls succeeded after the disk was freed and after the broker came back.
    assert tally.last_ok["allowed"] > max(freed_at, restarted_at) > 0, (tally.last_ok, freed_at, restarted_at)
    assert_nothing_acknowledged_lost(config, tally)
