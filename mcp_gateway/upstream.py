"""Third-party MCP servers as cells: launched in the jail, listed under their own namespace,
called through the same pipeline as any cell.

`[[upstreams]]` names a stdio MCP server (an argv list, an environment of its own, extra paths
it may read). At start the gateway launches it inside the jail (no network, the system
read-only, nothing of the gateway's environment, state or secrets), lists its tools under the
upstream's name (`time.get_current_time`) and serves them on the bus; a call is the SDK
client's `tools/call` on that server, after identity, budget, authz, validation and DLP.
An upstream's tools count as high-risk.

Tool definitions are pinned on first sight and a changed one is quarantined (pins.py). A server
that comes back from a restart with other tools (one quarantined, added or gone) has its
namespace in the registry replaced, and clients are told the tool list changed. A server
that crashes, or whose call outlives its timeout, is killed and restarted with backoff, its calls
failing cleanly meanwhile. A server with a `network` allow-list reaches those destinations, and
no others, through an egress proxy of its own (sandbox/egress.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process, TaskStatus
from mcp.shared.exceptions import MCPError
from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

from mcp_gateway.bus.base import BusReply, BusRequest
from mcp_gateway.errors import CellLoadError, InvalidArguments
from mcp_gateway.jail_config import JailConfig
from mcp_gateway.metrics import NO_METRICS, Metrics
from mcp_gateway.names import is_canonical, wire_name
from mcp_gateway.pins import PinStore, definition_hashes
from mcp_gateway.pipeline import ToolResult
from mcp_gateway.tools import ToolEntry
from mcp_gateway.upstream_config import UpstreamConfig
from mcp_gateway.upstream_session import UpstreamSession
from sandbox.egress import AllowList, EgressProxy
from sandbox.errors import SandboxError
from sandbox.profile import Profile
from sandbox.runner import jailed_command

logger = logging.getLogger(__name__)
DEADLINE_MARGIN = 1.0
"""Seconds the bus waits for an upstream call beyond the upstream's own timeout."""
ToolsChanged = Callable[[str, list[ToolEntry]], Awaitable[None]]
"""(namespace, its tools now): an upstream came back from a restart with other tools."""
Quarantined = Callable[[str, dict[str, str]], Awaitable[None]]
"""(canonical tool, its new definition's hashes): a changed definition was quarantined."""
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0


def _arguments_object(arguments: Mapping[str, Any]) -> dict[str, Any]:
    # The upstream validates against its own schema; the gateway only insists on an object.
    if not isinstance(arguments, Mapping):
        raise InvalidArguments("arguments must be an object")
    return dict(arguments)


class Upstream:
    def __init__(
        self,
        config: UpstreamConfig,
        jail: JailConfig,
        separator: str,
        pins: PinStore,
        on_tools_changed: ToolsChanged | None = None,
        on_quarantined: Quarantined | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.config, self._jail, self._separator, self._pins = config, jail, separator, pins
        self._metrics = metrics
        self._on_tools_changed, self._on_quarantined = on_tools_changed, on_quarantined
        self._quarantined: list[tuple[str, dict[str, str]]] = []
        self._client: UpstreamSession | None = None
        self._served: set[str] = set()
        self._stopped = anyio.Event()
        self._serving = anyio.Event()

    @property
    def address(self) -> str:
        return self.config.name

    def _argv(self) -> list[str]:
        program = self.config.command[0]
        found = program if program.startswith("/") else shutil.which(program)
        if found is None:
            raise CellLoadError(f"upstream {self.config.name!r}: {program!r} is not on PATH")
        return [found, *self.config.command[1:]]

    def profile(self) -> Profile:
        """Its jail profile (`[jail]` or a named one), with this server's paths, environment and
        overrides."""
        base, own = self._jail.profile(self.config.jail_profile), self.config
        return replace(
            base,
            layers=own.layers if own.layers is not None else base.layers,
            address_space_bytes=(own.address_space_mb << 20) if own.address_space_mb else base.address_space_bytes,
            processes=own.processes or base.processes,
            read_only=(*base.read_only, *own.read_only),
            env=(*base.env, *sorted(own.env.items())),
            cpu_seconds=24 * 3600,  # a long-lived server: the CPU limit is for calls, not for it
        )

    async def _incarnate(self, stack: AsyncExitStack) -> list[ToolEntry]:
        """Launch the server in the jail and list its tools (closing the stack ends it all)."""
        tasks = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(tasks.cancel_scope.cancel)  # runs first: the readers end before the group closes
        profile = self.profile()
        if self.config.network:
            private = tempfile.mkdtemp(prefix="egress-")  # 0700, and short enough for a socket path
            stack.callback(shutil.rmtree, private, True)
            proxy = EgressProxy(AllowList(self.config.network), Path(private) / "proxy.sock")
            await tasks.start(proxy.serve)
            profile = replace(profile, egress_socket=str(proxy.socket_path))
        try:
            command = await stack.enter_async_context(jailed_command(self._argv(), profile))
        except SandboxError as exc:
            raise CellLoadError(f"upstream {self.config.name!r} cannot be jailed: {exc}") from exc
        try:
            process = await anyio.open_process(command, env={}, start_new_session=True)
        except OSError as exc:
            raise CellLoadError(f"upstream {self.config.name!r} cannot be launched: {exc}") from exc
        stack.push_async_callback(_kill, process)
        session = UpstreamSession(process, self.config.timeout, self.config.name)
        await tasks.start(session.run)
        tasks.start_soon(session.drain_stderr)
        try:
            await session.initialize()
            listed = await session.list_tools()
        except (MCPError, ValueError) as exc:  # a refusal, a timeout, garbage: it did not come up
            raise CellLoadError(f"upstream {self.config.name!r} did not start: {exc}") from exc
        self._served = set()
        entries = self._entries(listed)
        for tool, hashes in self._quarantined:
            if self._on_quarantined is not None:
                await self._on_quarantined(tool, hashes)
        self._quarantined = []
        self._client = session
        return entries

    async def supervise(self, *, task_status: TaskStatus[list[ToolEntry]] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run the server until cancelled. The first start must succeed (its tools are reported
        to `start()`'s caller); after that, a server that crashed or hung is restarted with
        backoff (1 s, doubling, at most 30 s) while its calls fail cleanly."""
        delay, first = RESTART_FIRST_DELAY, True
        listed: list[tuple[str, ...]] = []
        while True:
            self._stopped = anyio.Event()
            try:
                async with AsyncExitStack() as stack:
                    entries = await self._incarnate(stack)
                    seen, listed = listed, [_definition(entry) for entry in entries]
                    if first:
                        task_status.started(entries)
                        first = False
                    else:
                        logger.info("upstream %s restarted", self.config.name)
                        if listed != seen and self._on_tools_changed is not None:
                            await self._on_tools_changed(self.config.name, entries)
                    delay = RESTART_FIRST_DELAY
                    self._serving.set()
                    await self._stopped.wait()
            except CellLoadError as exc:
                if first:
                    raise
                logger.warning("%s; retrying in %.0f s", exc, delay)
            finally:
                self._client = None
            if not first:
                await anyio.sleep(delay)
                delay = min(delay * 2, RESTART_MAX_DELAY)

    def _entries(self, tools: list[Any]) -> list[ToolEntry]:
        entries = []
        for tool in tools:
            canonical = f"{self.config.name}.{tool.name}"
            if not is_canonical(canonical):
                logger.warning("upstream %s: tool name %r is not usable; skipped", self.config.name, tool.name)
                continue
            hashes = definition_hashes(tool.description or "", tool.input_schema, tool.output_schema)
            if self._pins.check(canonical, hashes) == "quarantined":
                self._quarantined.append((canonical, hashes))
                logger.warning(
                    "upstream tool %s changed its definition since it was pinned: quarantined until "
                    "`mcp-gateway surface approve %s`",
                    canonical,
                    canonical,
                )
                continue
            self._served.add(tool.name)
            entries.append(
                ToolEntry(
                    canonical=canonical,
                    wire=wire_name(canonical, self._separator),
                    description=tool.description or "",
                    input_schema=tool.input_schema,
                    output_schema=tool.output_schema,
                    risk="high",
                    cost=1,
                    version=f"upstream:{self.config.name}",
                    address=self.config.name,
                    validate=_arguments_object,
                    # The session's own timeout (config.timeout) must fire before the bus's deadline,
                    # so that a hung server is recognised, killed and restarted, not just abandoned.
                    timeout=self.config.timeout + DEADLINE_MARGIN,
                )
            )
        return entries

    async def handle(self, request: BusRequest) -> BusReply:
        client = self._client
        if client is None:
            return BusReply(ToolResult.error(f"upstream {self.config.name!r} is restarting; try again shortly"))
        name = request.tool.partition(".")[2]
        if name not in self._served:  # quarantined (or never listed): refused like a missing tool
            return BusReply(ToolResult.error(f"Unknown tool: {request.tool}"))
        try:
            result = await client.call_tool(name, dict(request.arguments))
        except MCPError as exc:
            # Counted as jail runs like the exec cell's: the server is a jailed worker.
            if exc.code in (REQUEST_TIMEOUT, CONNECTION_CLOSED):
                self._metrics.jail_run(request.tool, "timeout" if exc.code == REQUEST_TIMEOUT else "exit")
                self._end_incarnation(f"{name} {'timed out' if exc.code == REQUEST_TIMEOUT else 'lost the server'}")
            else:
                self._metrics.jail_run(request.tool, None)
            return BusReply(ToolResult.error(f"upstream {self.config.name!r} failed on {name}: {exc.message}"))
        except ValueError:  # a reply that is not a tool result
            self._metrics.jail_run(request.tool, None)
            return BusReply(ToolResult.error(f"upstream {self.config.name!r} sent a malformed result for {name}"))
        self._metrics.jail_run(request.tool, None)
        return BusReply(
            ToolResult(content=list(result.content), structured=result.structured_content, is_error=result.is_error)
        )

    async def wait_serving(self) -> None:
        """Until the server is up (again, after a restart)."""
        await self._serving.wait()

    def _end_incarnation(self, why: str) -> None:
        """A hung or dead server is killed (its jail torn down) and restarted by `supervise`."""
        logger.warning("upstream %s: %s; killing and restarting it", self.config.name, why)
        self._client = None
        self._serving = anyio.Event()
        self._stopped.set()


def _definition(entry: ToolEntry) -> tuple[str, ...]:
    schemas = json.dumps([entry.input_schema, entry.output_schema], sort_keys=True, default=str)
    return entry.canonical, entry.description, schemas


async def _kill(process: Process) -> None:
    """End the launcher's whole process group (the jail's PID 1 dies with it, and all it holds)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with anyio.CancelScope(shield=True):
        await process.aclose()  # its pipes too, not only the process
