"""`exec.python` and `exec.shell`: code a model writes, run where it can do no harm.

Both tools are declared `risk="high"`, so the gateway runs each call in a fresh jailed worker
(no network, the system read-only, a scratch dir of its own, limits on memory, CPU, processes
and time) and never in its own process. Inside, the snippet or command runs as a child process
with a timeout and capped output; `exec.shell` takes an argv list and never a shell string.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
from pydantic import BaseModel, ConfigDict, Field

from mcp_gateway.sdk import Cell, CellContext, tool

PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")


class ExecSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_output_bytes: int = Field(default=65536, ge=1024, le=16 << 20)
    max_seconds: float = Field(default=20.0, gt=0, le=300)


class PythonIn(BaseModel):
    code: str = Field(min_length=1, max_length=200_000, description="Python source to run as a script")
    timeout: float = Field(default=10.0, gt=0, le=300, description="seconds before the run is killed")


class ShellIn(BaseModel):
    argv: list[str] = Field(min_length=1, max_length=256, description="program and arguments (no shell)")
    timeout: float = Field(default=10.0, gt=0, le=300)


class RunOut(BaseModel):
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False


class ExecCell(Cell):
    namespace = "exec"
    version = "0.1.0"
    Settings = ExecSettings

    async def _run(self, argv: list[str], timeout: float) -> RunOut:
        settings: ExecSettings = self.settings  # type: ignore[assignment]
        with anyio.move_on_after(min(timeout, settings.max_seconds)) as deadline:
            try:
                done = await anyio.run_process(argv, check=False, cwd=self.state_dir)
            except OSError as exc:
                return RunOut(exit_code=127, stdout="", stderr=f"cannot run {argv[0]!r}: {exc.strerror}")
        if deadline.cancelled_caught:
            return RunOut(exit_code=-9, stdout="", stderr="", timed_out=True)
        cut = max(len(done.stdout), len(done.stderr)) > settings.max_output_bytes
        return RunOut(
            exit_code=done.returncode,
            stdout=_text(done.stdout, settings),
            stderr=_text(done.stderr, settings),
            truncated=cut,
        )

    @tool(
        description="Run a Python snippet in the jail; returns its stdout, stderr and exit code.", risk="high", cost=5
    )
    async def python(self, args: PythonIn, ctx: CellContext) -> RunOut:
        return await self._run([PYTHON, "-I", "-c", args.code], args.timeout)

    @tool(description="Run a program (an argv list, never a shell string) in the jail.", risk="high", cost=5)
    async def shell(self, args: ShellIn, ctx: CellContext) -> RunOut:
        return await self._run(args.argv, args.timeout)


def _text(data: bytes | None, settings: ExecSettings) -> str:
    return (data or b"")[: settings.max_output_bytes].decode(errors="replace")
