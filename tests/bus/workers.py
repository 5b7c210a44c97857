"""Real `mcp-gateway worker` processes for the distribution tests."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from tests.support import GATEWAY

START_SECONDS = 30
SERVING = "mcp-gateway worker: serving"


@dataclass
class WorkerProcess:
    process: Process
    stderr: list[str] = field(default_factory=list)
    """Everything the worker wrote on stderr so far (drained continuously, so it never blocks)."""

    @property
    def log(self) -> str:
        return "".join(self.stderr)

    async def drain(self) -> None:
        assert self.process.stderr is not None
        async for chunk in TextReceiveStream(self.process.stderr):
            self.stderr.append(chunk)

    async def wait_for_log(self, text: str, seconds: float = 10) -> None:
        with anyio.fail_after(seconds):
            while text not in self.log:
                if self.process.returncode is not None:
                    raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.log}")
                await anyio.sleep(0.02)

    def kill(self) -> None:
        """As a crash would: no chance to finish or answer anything."""
        self.process.kill()

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.terminate()
            with anyio.move_on_after(10):
                await self.process.wait()
            if self.process.returncode is None:
                self.kill()
        await self.process.wait()


@asynccontextmanager
async def start_workers(
    config_file: Path, env: Mapping[str, str], count: int = 1, cells: str = "probe"
) -> AsyncIterator[list[WorkerProcess]]:
    """`count` workers hosting `cells`, started side by side, each serving once it said so;
    stopped (SIGTERM, then SIGKILL) on exit."""
    command = [*GATEWAY, "worker", "--config", str(config_file), "--cells", cells]
    async with AsyncExitStack() as stack:
        workers = []
        for _ in range(count):
            process = await stack.enter_async_context(await anyio.open_process(command, env=dict(env)))
            workers.append(WorkerProcess(process))
        tg = await stack.enter_async_context(anyio.create_task_group())
        for worker in workers:
            tg.start_soon(worker.drain)
        for worker in workers:
            stack.push_async_callback(worker.stop)
        for worker in workers:
            await worker.wait_for_log(SERVING, START_SECONDS)
        yield workers


@asynccontextmanager
async def start_worker(config_file: Path, env: Mapping[str, str], cells: str = "probe") -> AsyncIterator[WorkerProcess]:
    async with start_workers(config_file, env, 1, cells) as (worker,):
        yield worker
