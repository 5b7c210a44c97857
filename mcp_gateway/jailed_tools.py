"""High-risk tools run in the jail: a pool of warm zygotes with their cells preloaded.

Each call of a tool declared `risk="high"` becomes a `run_tool` call (jail_entry.py) in a fresh
jailed worker: the tool's code never runs in the gateway's process. The jail's layers and
limits come from `[jail]`, or from the named profile the cell picks (`jail_profile`), each
profile in use with a pool of its own; a host that cannot apply a required layer stops the gateway at start
(fail closed), and `doctor` says which layer is missing.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from mcp_gateway import __version__
from mcp_gateway.errors import CellLoadError
from mcp_gateway.jail_config import JailConfig
from mcp_gateway.registry import LoadedCell
from mcp_gateway.sdk import CellContext, ToolError, ToolSpec
from sandbox.errors import SandboxError
from sandbox.pool import ZygotePool

ENTRY = "mcp_gateway.jail_entry:run_tool"


class JailedTools:
    def __init__(self, config: JailConfig, cells: list[LoadedCell]) -> None:
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
            raise ToolError(f"the jail could not run {namespace}.{spec.name}: {exc}") from exc
        if result.timed_out:
            raise ToolError(
                f"{namespace}.{spec.name} ran past its {item.config.timeout:g} s in the jail and was killed"
            )
        if result.exit_code != 0:
            raise ToolError(f"{namespace}.{spec.name} failed in the jail (exit status {result.exit_code})")
        answer = json.loads(result.stdout)
        if "error" in answer:
            raise ToolError(str(answer["error"]))
        return spec.output_model.model_validate(answer["output"])
