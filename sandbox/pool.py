"""Warm zygotes: jailed calls without starting a process each time.

A `Zygote` is one jailed zygote process (see zygote.py) serving one call at a time; a
`ZygotePool` keeps a few and hands each call to a free one. A zygote that stops answering (it
crashed, or a call outlived its deadline by more than a second) is killed and replaced.
"""

from __future__ import annotations

import base64
import json
import os
import signal
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from sandbox import cgroup, host, landlock
from sandbox.boot import python_module
from sandbox.errors import SandboxError
from sandbox.profile import Profile
from sandbox.runner import JailResult

ZYGOTE: Final = python_module("sandbox.zygote")
_GRACE: Final = 1.0
_LINE_LIMIT: Final = 16 << 20


class Zygote:
    def __init__(self, profile: Profile, preload: tuple[str, ...] = ()) -> None:
        self.profile, self.preload = profile, preload
        self._process: Process | None = None
        self._reader: BufferedByteReceiveStream | None = None
        self._group: Path | None = None
        self._lock = anyio.Lock()

    async def start(self) -> None:
        host.require(self.profile.layers)
        if "pids" in self.profile.layers:
            self._group = cgroup.create(self.profile.processes)
        settings = asdict(self.profile)
        settings.update(abi=landlock.abi_version(), env=list(self.profile.env), cgroup=str(self._group or ""))
        settings.update(preload=list(self.preload))
        self._process = await anyio.open_process([*ZYGOTE, json.dumps(settings)], env={}, start_new_session=True)
        assert self._process.stdout is not None  # open_process pipes stdout by default
        self._reader = BufferedByteReceiveStream(self._process.stdout)
        with anyio.fail_after(30):
            ready = await self._reader.receive_until(b"\n", 64)
        if ready != b"ready":
            await self.aclose()
            raise SandboxError(f"the zygote did not start: {ready!r}")

    async def _exchange(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        process, reader = self._process, self._reader
        if process is None or reader is None or process.stdin is None:
            raise SandboxError("the zygote is not running")
        await process.stdin.send(json.dumps(request).encode() + b"\n")
        with anyio.fail_after(timeout + _GRACE):
            line = await reader.receive_until(b"\n", _LINE_LIMIT)
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def call(self, request: dict[str, Any]) -> JailResult:
        timeout = float(request.setdefault("timeout", self.profile.wall_seconds))
        async with self._lock:
            try:
                answer = await self._exchange(request, timeout)
            except (TimeoutError, anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError, OSError) as exc:
                await self.aclose()
                raise SandboxError(f"the zygote stopped answering ({type(exc).__name__}); it is replaced") from exc
        if "error" in answer:
            raise SandboxError(str(answer["error"]))
        return JailResult(
            int(answer["exit_code"]),
            base64.b64decode(answer["stdout"]),
            base64.b64decode(answer["stderr"]),
            bool(answer["timed_out"]),
            bool(answer["truncated"]),
        )

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def aclose(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with anyio.CancelScope(shield=True):
                await process.aclose()  # its pipes too, not only the process
        if self._group is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(cgroup.destroy, self._group)
            self._group = None


class ZygotePool:
    """`size` warm zygotes; a call waits for a free one."""

    def __init__(self, profile: Profile, size: int = 2, *, preload: tuple[str, ...] = ()) -> None:
        """`preload`: modules every zygote imports before it is jailed (a worker cannot read
        files outside its view, so what a callable needs must be loaded already)."""
        self.profile, self.size, self.preload = profile, size, preload
        self._free: list[Zygote] = []
        self._slots = anyio.Semaphore(size)

    async def start(self) -> None:
        for _ in range(self.size):
            zygote = Zygote(self.profile, self.preload)
            await zygote.start()
            self._free.append(zygote)

    async def aclose(self) -> None:
        for zygote in self._free:
            await zygote.aclose()
        self._free.clear()

    async def __aenter__(self) -> ZygotePool:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _take(self) -> Zygote:
        zygote = self._free.pop()
        if not zygote.alive:
            zygote = Zygote(self.profile, self.preload)
            await zygote.start()
        return zygote

    async def run_python(self, code: str, *, timeout: float | None = None) -> JailResult:
        return await self._call({"kind": "python", "code": code, "timeout": timeout or self.profile.wall_seconds})

    async def run(self, argv: list[str], *, timeout: float | None = None) -> JailResult:
        return await self._call({"kind": "exec", "argv": argv, "timeout": timeout or self.profile.wall_seconds})

    async def run_callable(self, target: str, payload: Any, *, timeout: float | None = None) -> JailResult:
        """Call `module:function(payload)` in a fresh worker; its JSON result is the stdout."""
        request = {"kind": "callable", "target": target, "payload": payload}
        return await self._call(request | {"timeout": timeout or self.profile.wall_seconds})

    async def _call(self, request: dict[str, Any]) -> JailResult:
        async with self._slots:
            zygote = await self._take()
            try:
                return await zygote.call(request)
            finally:
                self._free.append(zygote)
