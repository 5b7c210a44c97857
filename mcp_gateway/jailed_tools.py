"""High-risk tools run in the jail: a pool of warm zygotes with their cells preloaded.

Each call of a tool declared `risk="high"` becomes a `run_tool` call (jail_entry.py) in a fresh
jailed worker: the tool's code never runs in the gateway's process. The jail's layers and
limits come from `[jail]`, or from the named profile the cell picks (`jail_profile`), each
profile in use with a pool of its own; a host that cannot apply a required layer stops the gateway at start
(fail closed), and `doctor` says which layer is missing.

Each run gets a span of its own (`jail ns.tool`) and counts in `mcp_gateway.jail.runs`; a run the
jail itself failed (sandbox error, timeout, non-zero exit) also in `mcp_gateway.jail.failures`.
A tool that reports an error from inside the jail ran fine as far as the jail is concerned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import StatusCode
from pydantic import BaseModel

from mcp_gateway import __version__
from mcp_gateway import telemetry as tm
from mcp_gateway.errors import CellLoadError
from mcp_gateway.jail_config import JailConfig
from mcp_gateway.metrics import NO_METRICS, Metrics
from mcp_gateway.registry import LoadedCell
from mcp_gateway.sdk import CellContext, ToolError, ToolSpec
from sandbox.errors import SandboxError
from sandbox.pool import ZygotePool

ENTRY = "mcp_gateway.jail_entry:run_tool"


class JailFailure(ToolError):
    """The jail, not the tool, failed the run: `reason` is `sandbox`, `timeout` or `exit`."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class JailedTools:
    def __init__(
        self,
        config: JailConfig,
        cells: list[LoadedCell],
        *,
        metrics: Metrics = NO_METRICS,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._metrics, self._tracer = metrics, tracer
        self._cells = {item.cell.namespace: item for item in cells}
        self._pools: dict[str | None, ZygotePool] = {}
        for name in dict.fromkeys(item.config.jail_profile for item in cells):
            users = [item for item in cells if item.config.jail_profile == name]
            modules = tuple(dict.fromkeys(item.config.module.partition(":")[0] for item in users))
            self._pools[name] = ZygotePool(
                config.profile(name), config.settings(name).pool_size, preload=("mcp_gateway.jail_entry", *modules)
            )

    async def start(self) -> None:
        for name, pool in self._pools.items():
            try:
                await pool.start()
            except SandboxError as exc:
                await self.aclose()
                which = f"profile {name!r}" if name else "high-risk tools"
                raise CellLoadError(f"the jail for {which} cannot start: {exc}") from exc

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()

    async def invoke(self, namespace: str, spec: ToolSpec, args: BaseModel, ctx: CellContext) -> BaseModel:
        tool = f"{namespace}.{spec.name}"
        failure = None
        with self._span(tool) as span:
            try:
                return await self._run(namespace, spec, args, ctx)
            except JailFailure as exc:
                failure = exc.reason
                if span is not None:
                    span.set_status(StatusCode.ERROR, failure)
                raise
            finally:
                self._metrics.jail_run(tool, failure)

    @contextmanager
    def _span(self, tool: str) -> Iterator[trace.Span | None]:
        if self._tracer is None:
            yield None
            return
        with self._tracer.start_as_current_span(
            f"jail {tool}",
            attributes={tm.GEN_AI_TOOL_NAME: tool},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield span

    async def _run(self, namespace: str, spec: ToolSpec, args: BaseModel, ctx: CellContext) -> BaseModel:
        item = self._cells[namespace]
        payload: dict[str, Any] = {
            "module": item.config.module,
            "settings": item.cell.settings.model_dump(mode="json"),
            "tool": spec.name,
            "arguments": args.model_dump(mode="json"),
            "principal": {
                "name": ctx.principal.name,
                "roles": list(ctx.principal.roles),
                "domain": ctx.principal.domain,
            },
            "transport": ctx.transport,
            "request_id": ctx.request_id,
            "depth": ctx.depth,
            "version": __version__,
        }
        try:
            pool = self._pools[item.config.jail_profile]
            result = await pool.run_callable(ENTRY, payload, timeout=item.config.timeout)
        except SandboxError as exc:
            raise JailFailure(f"the jail could not run {namespace}.{spec.name}: {exc}", "sandbox") from exc
        if result.timed_out:
            raise JailFailure(
                f"{namespace}.{spec.name} ran past its {item.config.timeout:g} s in the jail and was killed", "timeout"
            )
        if result.exit_code != 0:
            raise JailFailure(f"{namespace}.{spec.name} failed in the jail (exit status {result.exit_code})", "exit")
        answer = json.loads(result.stdout)
        if "error" in answer:
            raise ToolError(str(answer["error"]))
        return spec.output_model.model_validate(answer["output"])
