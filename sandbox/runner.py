"""Running a command in the jail: a scratch dir, a wall-clock timeout, capped output, and no
process left behind (the PID namespace ends them all; the process group is killed as well)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import anyio
from anyio.abc import ByteReceiveStream, Process

from sandbox import cgroup, host, landlock, relay
from sandbox.boot import python_module
from sandbox.errors import SandboxError
from sandbox.launcher import SETUP_FAILED
from sandbox.profile import Profile

LAUNCHER: Final = python_module("sandbox.launcher")


@dataclass(frozen=True, slots=True)
class JailResult:
    exit_code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    truncated: bool = False


async def _read_capped(stream: ByteReceiveStream | None, cap: int, sink: list[bytes], cut: list[bool]) -> None:
    if stream is None:
        return
    size = 0
    async for chunk in stream:
        if size < cap:
            sink.append(chunk[: cap - size])
        if size + len(chunk) > cap:
            cut.append(True)
        size += len(chunk)


def _config(argv: list[str], profile: Profile, scratch: str, group: Path | None) -> str:
    settings = asdict(profile)
    settings.update(argv=argv, scratch=scratch, abi=landlock.abi_version(), env=list(profile.env))
    settings.update(cgroup=str(group) if group else None, egress=profile.egress_socket)
    if profile.egress_socket:
        # IP sockets, but a connection to the relay's port only, in a namespace with nothing else.
        settings.update(network=True, tcp_connect=[relay.EGRESS_PORT])
        settings["env"] = [*settings["env"], *relay.proxy_environment()]
    return json.dumps(settings)


def _kill_group(process: Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@asynccontextmanager
async def jailed_command(argv: list[str], profile: Profile) -> AsyncIterator[list[str]]:
    """The command line that runs `argv` in a jail made to `profile`, for whoever starts it with
    an empty environment (for a long-lived process: an upstream MCP server over stdio). The
    scratch dir and the process-limit cgroup live as long as the `with` block; leaving it kills
    whatever is left in the cgroup."""
    host.require(profile.layers)
    if profile.egress_socket and "netns" not in profile.layers:
        # Without its own namespace the command would reach the host's network directly.
        raise SandboxError("a network allow-list needs the netns layer, which this profile lacks")
    scratch = tempfile.mkdtemp(prefix="jail-")
    group = cgroup.create(profile.processes) if "pids" in profile.layers else None
    try:
        yield [*LAUNCHER, _config(argv, profile, scratch, group)]
    finally:
        with anyio.CancelScope(shield=True):
            # Killing and waiting for the group's last processes may take a few milliseconds
            # of retries: not on the event loop.
            if group is not None:
                await anyio.to_thread.run_sync(cgroup.destroy, group)
            shutil.rmtree(scratch, ignore_errors=True)


async def run(argv: list[str], profile: Profile, *, stdin: bytes = b"") -> JailResult:
    """Run `argv` (argv[0] an absolute path) in a jail made to `profile`."""
    async with jailed_command(argv, profile) as command:
        return await _run(command, profile, stdin)


async def _run(command: list[str], profile: Profile, stdin: bytes) -> JailResult:
    out: list[bytes] = []
    err: list[bytes] = []
    cut: list[bool] = []
    timed_out = False
    process = await anyio.open_process(command, env={}, start_new_session=True)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_read_capped, process.stdout, profile.output_bytes, out, cut)
            tg.start_soon(_read_capped, process.stderr, profile.output_bytes, err, cut)
            if process.stdin is not None:
                await process.stdin.send(stdin) if stdin else None
                await process.stdin.aclose()
            with anyio.move_on_after(profile.wall_seconds) as scope:
                await process.wait()
            if scope.cancelled_caught:
                timed_out = True
                _kill_group(process)
    finally:
        _kill_group(process)
        with anyio.CancelScope(shield=True):
            await process.aclose()  # its pipes too, not only the process
    code = process.returncode if process.returncode is not None else -1
    if code == SETUP_FAILED and b"".join(err).startswith(b"jail: "):
        raise SandboxError(b"".join(err).decode(errors="replace").strip())
    return JailResult(code, b"".join(out), b"".join(err), timed_out, bool(cut))
