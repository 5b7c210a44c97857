"""The audit trail end to end: every call leaves a durable, verifiable record; the auditor's CLI
finds every kind of edit; a full disk refuses calls; a gateway killed under load loses no call
whose result a client received."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_gateway.audit.access import audit_paths, open_keys
from mcp_gateway.audit.query import Filter, records
from mcp_gateway.config import load_config
from mcp_gateway.testing import gateway_client
from tests.support import GATEWAY, stdio_params, write_config, write_policy

pytestmark = pytest.mark.anyio
CANARY = "canary-7f3a9c-do-not-log"


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, "audit", *args, "--config", str(config)], capture_output=True, text=True, timeout=60, check=False
    )


def _config(tmp_path: Path, state_dir: Path, extra: str = "") -> Path:
    policy = write_policy(tmp_path / "policy", "p, role:local, *, notes.delete, call, deny")
    return write_config(tmp_path / "g.toml", state_dir, f'\n[authz]\npolicy_dir = "{policy}"\n{extra}')


@pytest.mark.req("R-026")
async def test_every_call_is_recorded_and_the_log_verifies(tmp_path: Path, state_dir: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    file = _config(tmp_path, state_dir)
    config = load_config(file, {})
    async with gateway_client(config, tracer_provider=provider) as (gateway, client):
        assert not (await client.call_tool("notes__put", {"key": "t", "text": CANARY})).is_error
        with pytest.raises(MCPError):
            await client.call_tool("notes__delete", {"key": "t"})  # denied by the policy
        mailed = await client.call_tool("notes__put", {"key": "m", "text": "write to dana.smith@example.org"})
        assert not mailed.is_error
    found = list(records(audit_paths(config)[0], Filter(event="tool_call")))
    assert [(r["tool"], r["decision"], r["outcome"]) for r in found] == [
        ("notes.put", "allow", "ok"),
        ("notes.delete", "deny", "forbidden"),
        ("notes.put", "allow", "ok"),
    ]
    first, denied, mailed_record = found
    assert first["principal"] == "alice" and first["roles"] == ["local"] and first["transport"] in ("stdio", "test")
    assert first["rule"] == ["role:local", "*", "*", "call", "allow"] and first["result_bytes"] > 0
    assert denied["rule"] == ["role:local", "*", "notes.delete", "call", "deny"] and denied["refused_by"] == "authz"
    assert mailed_record["dlp"]["ingress"][0]["entity"] == "EMAIL_ADDRESS"
    assert "budget" in first and first["duration_ms"] > 0
    # The record's trace id is the call's trace.
    traces = {f"{span.context.trace_id:032x}" for span in exporter.get_finished_spans() if span.context}
    assert {record["trace_id"] for record in found} <= traces
    # Values only as keyed hashes: neither the canary nor the address is in the log.
    log_text = "".join(path.read_text() for path in audit_paths(config)[0].glob("audit-*.jsonl"))
    assert CANARY not in log_text and "dana.smith" not in log_text
    assert first["arguments_hmac"] == open_keys(config).values_hash({"key": "t", "text": CANARY})

    verified = _cli(file, "verify", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["records"] == 3
    queried = _cli(file, "query", "--principal", "alice", "--decision", "deny", "--json")
    assert [json.loads(line)["tool"] for line in queried.stdout.splitlines()] == ["notes.delete"]
    assert _cli(file, "query", "--tool", "notes.*", "--since", "2000-01-01").stdout.count("\n") == 3
    tail = _cli(file, "tail", "-n", "1")
    assert tail.returncode == 0 and "notes.put" in tail.stdout


async def test_the_cli_reports_the_first_bad_record(tmp_path: Path, state_dir: Path) -> None:
    file = _config(tmp_path, state_dir)
    config = load_config(file, {})
    async with gateway_client(config) as (_, client):
        for index in range(5):
            await client.call_tool("notes__put", {"key": f"t{index}", "text": "x"})
    (log,) = list(audit_paths(config)[0].glob("audit-*.jsonl"))
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join([*lines[:2], lines[2].replace(b'"alice"', b'"mallory"'), *lines[3:]]))
    bad = _cli(file, "verify")
    assert bad.returncode == 1 and bad.stdout.startswith(f"BAD: {log.name}, line 3, seq 3")
    log.write_bytes(b"".join(lines[:3]))  # truncated: the checkpoint written at close names seq 5
    cut = _cli(file, "verify", "--json")
    assert cut.returncode == 1 and "truncated" in json.loads(cut.stdout)["problem"]["reason"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
@pytest.mark.req("R-028")
async def test_a_full_audit_disk_refuses_calls(tmp_path: Path, state_dir: Path) -> None:
    disk = tmp_path / "tiny"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12k", "tmpfs", str(disk)], check=True)
    try:
        config = load_config(_config(tmp_path, state_dir, f'\n[audit]\ndirectory = "{disk}"\n'), {})
        async with gateway_client(config) as (_, client):
            refused = None
            for index in range(100):
                try:
                    await client.call_tool("notes__put", {"key": f"t{index}", "text": "y" * 100})
                except MCPError as exc:
                    refused = exc
                    break
        assert refused is not None and "audit log cannot be written" in str(refused)
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@pytest.mark.req("R-029")
async def test_a_gateway_killed_under_load_loses_no_acknowledged_call(
    tmp_path: Path, state_dir: Path, clean_env: dict[str, str]
) -> None:
    file = _config(tmp_path, state_dir)
    acknowledged: list[dict[str, Any]] = []
    params = stdio_params(file, clean_env)
    with anyio.move_on_after(60):
        async with Client(params, read_timeout_seconds=30) as client:

            async def caller(worker: int) -> None:
                for index in range(10_000):
                    arguments = {"key": f"w{worker}-{index}", "text": f"load {worker} {index}"}
                    try:
                        await client.call_tool("notes__put", arguments)
                    except MCPError:  # the gateway is gone
                        return
                    acknowledged.append(arguments)

            await client.call_tool("notes__put", {"key": "first", "text": "up"})  # the gateway is serving
            async with anyio.create_task_group() as tg:
                for worker in range(4):
                    tg.start_soon(caller, worker)
                with anyio.fail_after(30):
                    while len(acknowledged) < 40:  # under load, whatever this machine's speed
                        await anyio.sleep(0.05)
                gateway_pid = _gateway_pid(file)
                os.kill(gateway_pid, signal.SIGKILL)  # mid-flight: no shutdown, no final checkpoint
                await anyio.sleep(0.5)
                tg.cancel_scope.cancel()
    assert len(acknowledged) > 20
    config = load_config(file, {})
    keys = open_keys(config)
    logged = {record["arguments_hmac"] for record in records(audit_paths(config)[0])}
    missing = [args for args in acknowledged if keys.values_hash(args) not in logged]
    assert not missing, f"{len(missing)} acknowledged calls are not in the log"
    verified = _cli(file, "verify")
    assert verified.returncode == 0, verified.stdout


def _gateway_pid(config: Path) -> int:
    found = subprocess.run(["pgrep", "-f", f"serve --config {config}"], capture_output=True, text=True, check=False)
    pids = [int(pid) for pid in found.stdout.split()]
    assert len(pids) == 1, found.stdout
    return pids[0]


def test_an_unusable_audit_directory_stops_the_gateway(tmp_path: Path, state_dir: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the audit directory should be")
    file = _config(tmp_path, state_dir, f'\n[audit]\ndirectory = "{blocked}"\n')
    started = subprocess.run([*GATEWAY, "serve", "--config", str(file)], capture_output=True, text=True, timeout=60)
    assert started.returncode == 2 and "audit" in started.stderr and "Traceback" not in started.stderr
