"""A real gateway (in-process, behind the real mcp client) and real `mcp-gateway worker`
processes on a real broker: NATS and Redis alike."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_gateway.config import load_config
from mcp_gateway.testing import gateway_client
from tests.bus.brokers import Broker
from tests.bus.test_remote import inject
from tests.bus.workers import WorkerProcess, start_worker, start_workers
from tests.support import write_config, write_policy

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
CELL_TIMEOUT = 5


def distributed_config(tmp_path: Path, state_dir: Path, broker: Broker, timeout: float = CELL_TIMEOUT) -> Path:
    """The default cells in the gateway, the probe cell on workers, a policy that lets the probe
    call `gateway.*` back through the pipeline."""
    policy = write_policy(tmp_path / "policy", "p, cell:probe, *, gateway.*, call, allow")
    extra = f"""
[[cells]]
module = "tests.bus.probe_cell"
remote = true
timeout = {timeout}

[authz]
policy_dir = "{policy}"

[dlp]
enabled = false

[bus]
url = "{broker.url}"
prefix = "e2e{uuid.uuid4().hex[:10]}"
heartbeat = 0.3
reconnect_wait = 0.1
"""
    return write_config(tmp_path / "gateway.toml", state_dir, extra)


@pytest.fixture
def broker(remote_kind: str, request: pytest.FixtureRequest) -> Broker:
    found: Broker = request.getfixturevalue(f"{remote_kind}_broker")
    return found


@pytest.fixture
def worker_env(clean_env: dict[str, str]) -> dict[str, str]:
    return {**clean_env, "PYTHONPATH": str(ROOT)}


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def text(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


@pytest.mark.req("R-040")
async def test_a_remote_cell_runs_in_the_worker_for_the_caller_in_the_callers_trace(
    tmp_path: Path, state_dir: Path, broker: Broker, worker_env: dict[str, str]
) -> None:
    file = distributed_config(tmp_path, state_dir, broker)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    gateway = gateway_client(load_config(file, {}), tracer_provider=provider)
    async with start_worker(file, worker_env) as worker, gateway as (_, client):
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"probe__whoami", "probe__mark", "fs__read_file"} <= names
        where = structured(await client.call_tool("probe__whoami", {}))
        assert where["pid"] == worker.process.pid and where["pid"] != os.getpid()
        assert (where["principal"], where["roles"], where["transport"]) == ("alice", ["local"], "stdio")
        assert where["trace_id"] in {f"{span.context.trace_id:032x}" for span in exporter.get_finished_spans()}
        # The way back: the worker's cell calls a tool through the gateway's pipeline, as itself.
        back = structured(await client.call_tool("probe__call", {"tool": "gateway.whoami"}))
        assert not back["is_error"] and '"principal":"cell:probe"' in back["text"]
        refused = structured(await client.call_tool("probe__call", {"tool": "fs.list_dir", "arguments": {}}))
        assert refused == {"is_error": True, "text": "Unknown tool: fs.list_dir"}
        no_secret = await client.call_tool("probe__secret", {})
        assert no_secret.is_error and "cells hosted by workers get no secrets" in text(no_secret)
        # A forged envelope published straight to the broker is refused, and said so, without its payload.
        config = load_config(file, {})
        await inject(config.bus, "probe", b'{"k":"call","tool":"probe.mark","args":{"path":"/tmp/forged"}}')
        await worker.wait_for_log("refused an envelope on probe: unsigned")
        assert "/tmp/forged" not in worker.log
        assert structured(await client.call_tool("probe__whoami", {}))["pid"] == worker.process.pid


async def _call_and_kill(client: Client, tool: str, marks: Path, workers: list[WorkerProcess]) -> Any:
    """Call `tool`; once it has left its side effect, kill the worker running it (kill -9)."""
    result: list[Any] = []

    async def call() -> None:
        result.append(await client.call_tool(tool, {"path": str(marks), "hold": 30}))

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        with anyio.fail_after(10):
            while not marks.exists() or not marks.read_text():
                await anyio.sleep(0.02)
        pid = int(marks.read_text().split()[0])
        victim = next(worker for worker in workers if worker.process.pid == pid)
        victim.kill()
        workers.remove(victim)
    return result[0]


@pytest.mark.req("R-042")
async def test_a_worker_killed_mid_call_gives_a_clean_error_and_no_second_side_effect(
    tmp_path: Path, state_dir: Path, broker: Broker, worker_env: dict[str, str]
) -> None:
    timeout = 2
    file = distributed_config(tmp_path, state_dir, broker, timeout)
    at_most_once, idempotent = tmp_path / "once.txt", tmp_path / "again.txt"
    async with start_workers(file, worker_env, 3) as workers, gateway_client(load_config(file, {})) as (_, client):
        with anyio.fail_after(timeout + 3):
            once = await _call_and_kill(client, "probe__mark", at_most_once, workers)
        assert once.is_error
        if broker.kind == "nats":  # NATS never delivers a call twice: the caller's deadline ends it
            assert f"did not answer within {timeout} s" in text(once)
        else:  # a live worker answers for the dead one without running the call again
            assert "stopped before it answered" in text(once) and "not run again" in text(once)
        assert len(at_most_once.read_text().splitlines()) == 1
        with anyio.fail_after(timeout + 3):
            again = await _call_and_kill(client, "probe__mark_again", idempotent, workers)
        lines = idempotent.read_text().splitlines()
        if broker.kind == "nats":
            assert again.is_error and f"did not answer within {timeout} s" in text(again) and len(lines) == 1
        else:  # an idempotent tool runs again on the worker still alive, and its caller gets the result
            assert structured(again) == {"lines": 2} and lines[0] != lines[1]


@pytest.mark.req("R-040")
async def test_sigterm_finishes_the_call_in_hand_then_the_worker_exits(
    tmp_path: Path, state_dir: Path, broker: Broker, worker_env: dict[str, str]
) -> None:
    file = distributed_config(tmp_path, state_dir, broker)
    marks = tmp_path / "marks.txt"
    async with start_worker(file, worker_env) as worker, gateway_client(load_config(file, {})) as (_, client):
        result: list[Any] = []

        async def call() -> None:
            result.append(await client.call_tool("probe__mark", {"path": str(marks), "hold": 1}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            with anyio.fail_after(10):
                while not marks.exists():
                    await anyio.sleep(0.02)
            worker.terminate()
        assert structured(result[0]) == {"lines": 1}
        with anyio.fail_after(10):
            assert await worker.process.wait() == 0
        with anyio.fail_after(5):
            gone = await client.call_tool("probe__whoami", {})
        assert gone.is_error and "no worker serves 'probe'" in text(gone)
