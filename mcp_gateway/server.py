"""The MCP face of the gateway: low-level SDK handlers that hand every tool call to the pipeline.

The gateway owns the tool list (built from the registry), so it builds on the SDK's low-level
`Server`, never on `MCPServer`. Names are resolved before any stage runs: a name that is not on
the surface is refused here with INVALID_PARAMS, whether it is malformed or merely unknown.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import mcp.types as t
from mcp.server import Server, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp.shared.exceptions import MCPError
from opentelemetry import trace

from mcp_gateway import __version__
from mcp_gateway.errors import Refusal, UnknownTool
from mcp_gateway.message_spans import MessageSpans
from mcp_gateway.metrics import NO_METRICS, Metrics
from mcp_gateway.pipeline import Next, ToolCall, ToolResult
from mcp_gateway.registry import Registry
from mcp_gateway.sdk import Principal
from mcp_gateway.tools import ToolEntry

logger = logging.getLogger(__name__)
PrincipalResolver = Callable[[str, Any], Principal]
"""(transport, the transport's request object or None) -> the principal a call acts for."""


def transport_of(ctx: ServerRequestContext[Any, Any]) -> str:
    request = ctx.request
    if request is None:
        return "stdio"
    path = str(getattr(getattr(request, "url", None), "path", ""))
    return "sse" if path.startswith("/messages") else "http"


def session_id_of(ctx: ServerRequestContext[Any, Any]) -> str | None:
    headers = getattr(ctx.request, "headers", None)
    value = headers.get("mcp-session-id") if headers is not None else None
    return value if isinstance(value, str) else None


def wire_tool(entry: ToolEntry) -> t.Tool:
    return t.Tool(
        name=entry.wire,
        title=entry.canonical,
        description=entry.description,
        input_schema=dict(entry.input_schema),
        output_schema=dict(entry.output_schema) if entry.output_schema is not None else None,
        annotations=t.ToolAnnotations(
            read_only_hint=entry.read_only,
            destructive_hint=entry.destructive,
            idempotent_hint=entry.idempotent,
            open_world_hint=False,
        ),
    )


def to_wire_result(result: ToolResult) -> t.CallToolResult:
    return t.CallToolResult(content=result.content, structured_content=result.structured, is_error=result.is_error)


class _Server(Server[Any]):
    """The SDK server, advertising `tools.listChanged` to clients of the handshake era too (the
    gateway's list changes when an upstream comes back with other tools)."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> Any:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True), experimental_capabilities, extensions
        )


class GatewayServer:
    """Builds the SDK `Server` whose handlers route into the pipeline."""

    def __init__(
        self,
        name: str,
        registry: Registry,
        pipeline: Next,
        resolve_principal: PrincipalResolver,
        visible: Callable[[Principal], Sequence[ToolEntry]],
        separator: str = "__",
        tracer: trace.Tracer | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._registry = registry
        self._pipeline = pipeline
        self._resolve_principal = resolve_principal
        self._visible = visible
        self._wire_tools = {entry.canonical: wire_tool(entry) for entry in registry.all()}
        # Who hears of a changed tool list: 2026 clients through `subscriptions/listen`, older
        # ones on the connections that have listed tools (the SDK drops the notification on a
        # 2026 connection, where only a listen stream may carry it).
        self._subscriptions = InMemorySubscriptionBus()
        self._listeners: weakref.WeakSet[Any] = weakref.WeakSet()
        self.sdk = _Server(
            name,
            version=__version__,
            instructions=(
                f"Tools are namespaced: the wire name `ns{separator}tool` is the tool `ns.tool`. "
                "Every call crosses the gateway's pipeline: arguments are checked against each tool's schema."
            ),
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_subscriptions_listen=ListenHandler(self._subscriptions),
        )
        # The SDK's own span middleware reports to the global provider; ours to the configured one.
        observed = tracer is not None or metrics is not None
        self.sdk.middleware = [MessageSpans(tracer, self._is_known, metrics or NO_METRICS)] if observed else []

    def _is_known(self, wire_name: str) -> bool:
        return self._registry.by_wire(wire_name) is not None

    async def _list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: t.PaginatedRequestParams | None
    ) -> t.ListToolsResult:
        principal = self._resolve_principal(transport_of(ctx), ctx.request)
        # The SDK builds a session per request; the client's connection behind it is what lasts.
        # mcp 2.3 has no public accessor for it (uv.lock pins the version; a test guards this).
        connection = getattr(ctx.session, "_connection", None)
        if connection is not None:
            self._listeners.add(connection)
        return t.ListToolsResult(tools=[self._wire_tool(entry) for entry in self._visible(principal)])

    def _wire_tool(self, entry: ToolEntry) -> t.Tool:
        # Built once per tool; an upstream's tools join the registry at start, after this server.
        wire = self._wire_tools.get(entry.canonical)
        if wire is None:
            wire = self._wire_tools[entry.canonical] = wire_tool(entry)
        return wire

    async def tools_changed(self, namespace: str) -> None:
        """The registry's tools under `namespace` changed: rebuild their wire forms and tell
        every client that listens."""
        prefix = namespace + "."
        self._wire_tools = {name: tool for name, tool in self._wire_tools.items() if not name.startswith(prefix)}
        await self._subscriptions.publish(ToolsListChanged())
        for connection in list(self._listeners):
            try:
                await connection.send_tool_list_changed()
            except Exception as exc:  # a closed connection must not stop the others being told
                logger.debug("cannot tell a client that the tool list changed: %s", exc)
                self._listeners.discard(connection)

    async def _call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: t.CallToolRequestParams
    ) -> t.CallToolResult:
        entry = self._registry.by_wire(params.name)
        transport = transport_of(ctx)
        if entry is None:
            raise MCPError(UnknownTool.jsonrpc_code, f"Unknown tool: {params.name[:80]}")
        meta = dict(params.meta) if params.meta else {}
        call = ToolCall(
            tool=entry,
            arguments=dict(params.arguments or {}),
            principal=self._resolve_principal(transport, ctx.request),
            transport=transport,
            request_id=None if ctx.request_id is None else str(ctx.request_id),
            protocol_version=ctx.protocol_version,
            session_id=session_id_of(ctx),
            meta=meta,
        )
        try:
            result = await self._pipeline(call)
        except Refusal as refusal:
            if refusal.kind == "protocol":
                raise MCPError(refusal.jsonrpc_code, refusal.message) from None
            return to_wire_result(ToolResult.error(refusal.message))
        return to_wire_result(result)
