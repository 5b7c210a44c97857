"""The load and fault suite, short: concurrent HTTP clients with a mix of allowed, refused,
DLP-redacted, jailed and failing calls against a real gateway process, while faults are
injected (the policy file corrupted, a jail zygote killed, a cell raising). Zero protocol
errors, bounded RSS growth, every acknowledged call in the verified audit log; latency
percentiles are printed. `LOAD_CLIENTS` and `LOAD_SECONDS` make it the long run by hand
(e.g. LOAD_CLIENTS=50 LOAD_SECONDS=60)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from mcp_gateway.audit.access import audit_paths, open_keys
from mcp_gateway.audit.query import records
from mcp_gateway.config import load_config
from tests.support import GATEWAY, create_token, start_http_gateway, write_config, write_policy

pytestmark = pytest.mark.anyio
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "8"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "12"))
RSS_GROWTH_LIMIT_MB = 96


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
    acknowledged: list[dict[str, Any]] = []
    latencies: dict[str, list[float]] = {}
    protocol_errors: list[str] = []
    outcomes: dict[str, int] = {}

    async with start_http_gateway(config, clean_env) as gateway:
        reader = await create_token(config, clean_env, "rita", "reader")
        pid = gateway.process.pid
        await anyio.sleep(1.0)
        rss_start = _rss_mb(pid)

        async def client(index: int) -> None:
            rng = random.Random(index)
            token = reader if index % 4 == 3 else None
            async with gateway.client(token=token) as session:
                deadline = time.monotonic() + SECONDS
                serial = 0
                while time.monotonic() < deadline:
                    serial += 1
                    kind = rng.choice(["allowed", "allowed", "dlp", "jailed", "faulty", "refused"])
                    key = f"c{index}-{serial}"
                    tool, arguments = {
                        "allowed": ("notes__put", {"key": key, "text": "ordinary"}),
                        "dlp": ("notes__put", {"key": key, "text": f"mail {key}@example.org"}),
                        "jailed": ("exec__python", {"code": "print(6 * 7)"}),
                        "faulty": ("faulty__fail", {}),
                        "refused": ("notes__delete", {"key": key}),
                    }[kind]
                    started = time.perf_counter()
                    try:
                        result = await session.call_tool(tool, arguments)
                    except MCPError as exc:
                        # A reader's forbidden tool reads as unknown; anything else is a protocol error.
                        if "Unknown tool" not in exc.error.message:
                            protocol_errors.append(f"{tool}: {exc.error.message}")
                        outcomes["refused"] = outcomes.get("refused", 0) + 1
                        continue
                    latencies.setdefault(kind, []).append(time.perf_counter() - started)
                    acknowledged.append(arguments)
                    outcome = "error" if result.is_error else "ok"
                    if kind == "faulty":
                        assert "Traceback" not in str(result.content) and "(ref " in str(result.content)
                    outcomes[f"{kind}:{outcome}"] = outcomes.get(f"{kind}:{outcome}", 0) + 1

        async def faults() -> None:
            await anyio.sleep(SECONDS / 4)
            policy_file = policy / "policy.csv"
            good = policy_file.read_text()
            policy_file.write_text("this is not, a policy\n")  # rejected: the last good one stays
            await anyio.sleep(SECONDS / 4)
            policy_file.write_text(good)
            for zygote in _zygotes(pid)[:1]:
                os.kill(zygote, signal.SIGKILL)  # the pool replaces it; its call fails cleanly

        async with anyio.create_task_group() as tg:
            tg.start_soon(faults)
            for index in range(CLIENTS):
                tg.start_soon(client, index)
        rss_end = _rss_mb(pid)
        stderr = "".join(gateway.stderr)

    assert not protocol_errors, protocol_errors[:5]
    # A raising cell: the client read a reference, the operator's log has the traceback.
    assert "internal error in faulty.fail (ref " in stderr or outcomes.get("faulty:error", 0) > 0
    assert (
        outcomes.get("allowed:ok", 0) > 0 and outcomes.get("jailed:ok", 0) > 0 and outcomes.get("faulty:error", 0) > 0
    )
    assert outcomes.get("refused", 0) > 0
    assert rss_end - rss_start < RSS_GROWTH_LIMIT_MB, (rss_start, rss_end)
    summary = {
        kind: (len(v), sorted(v)[len(v) // 2] * 1e3, sorted(v)[int(len(v) * 0.99)] * 1e3)
        for kind, v in latencies.items()
    }
    print(f"\nload: {CLIENTS} clients x {SECONDS:g} s; outcomes {outcomes}; RSS {rss_start:.0f} -> {rss_end:.0f} MB")
    for kind, (count, p50, p99) in sorted(summary.items()):
        print(f"  {kind:8} {count:5} calls  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms")
    # Nothing acknowledged is lost: every call a client got a result for is in the verified log.
    loaded = load_config(config, {})
    keys = open_keys(loaded)
    logged = {record.get("arguments_hmac") for record in records(audit_paths(loaded)[0])}
    missing = [args for args in acknowledged if keys.values_hash(args) not in logged]
    assert not missing, f"{len(missing)} acknowledged calls are not in the audit log"
    verified = subprocess.run(
        [*GATEWAY, "audit", "verify", "--config", str(config)], capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stdout
