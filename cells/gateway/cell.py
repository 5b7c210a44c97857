"""`gateway.whoami`, `gateway.tools`, `gateway.version`: introspection for the calling principal."""

from __future__ import annotations

import platform
import sys

from pydantic import BaseModel, ConfigDict, Field

from mcp_gateway.sdk import Cell, CellContext, tool


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WhoAmI(BaseModel):
    principal: str
    roles: list[str]
    domain: str
    transport: str


class ToolsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namespace: str | None = Field(default=None, description="Only tools of this namespace.")


class ToolSummary(BaseModel):
    name: str = Field(description="Canonical name, namespace.tool")
    description: str
    risk: str
    cost: int
    version: str


class Tools(BaseModel):
    tools: list[ToolSummary]


class Version(BaseModel):
    gateway: str
    python: str
    platform: str


class GatewayCell(Cell):
    namespace = "gateway"
    version = "1.0.0"

    @tool(description="Who the gateway thinks you are: your principal, roles, domain and transport.", read_only=True)
    async def whoami(self, args: NoArgs, ctx: CellContext) -> WhoAmI:
        principal = ctx.principal
        return WhoAmI(
            principal=principal.name, roles=list(principal.roles), domain=principal.domain, transport=ctx.transport
        )

    @tool(
        description=(
            "The tools you may call through this gateway, by canonical name (namespace.tool), with their "
            "description, risk (low or high: high-risk tools run isolated) and cost in budget units."
        ),
        read_only=True,
    )
    async def tools(self, args: ToolsArgs, ctx: CellContext) -> Tools:
        visible = ctx.gateway.visible_tools(ctx.principal)
        return Tools(
            tools=[
                ToolSummary(
                    name=info.name, description=info.description, risk=info.risk, cost=info.cost, version=info.version
                )
                for info in visible
                if args.namespace is None or info.name.startswith(f"{args.namespace}.")
            ]
        )

    # Named `version` on the surface; the method name would shadow the cell's own `version`.
    @tool(name="version", description="The gateway's version and the Python runtime it runs on.", read_only=True)
    async def gateway_version(self, args: NoArgs, ctx: CellContext) -> Version:
        return Version(gateway=ctx.gateway.version, python=sys.version.split()[0], platform=platform.system())
