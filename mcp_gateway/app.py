"""The composition root: builds the services and the pipeline once, from the configuration."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from opentelemetry import trace

from mcp_gateway import __version__
from mcp_gateway.audit.errors import AuditUnavailable
from mcp_gateway.audit.keys import AuditKeys
from mcp_gateway.audit.log import AuditLog
from mcp_gateway.authz.config import resolve_policy_dir
from mcp_gateway.authz.engine import READ
from mcp_gateway.authz.patterns import is_object
from mcp_gateway.authz.reload import PolicyEvent, PolicyStore
from mcp_gateway.budgets.ledger import BudgetLedger
from mcp_gateway.bus.base import Bus
from mcp_gateway.bus.routed import linked
from mcp_gateway.bus.wiring import gateway_bus
from mcp_gateway.cellhost import CellHost, start_cells
from mcp_gateway.config import Config
from mcp_gateway.dlp.runtime import DlpRuntime
from mcp_gateway.errors import CellLoadError, MalformedName, Refusal
from mcp_gateway.file_watch import ReloadEvent
from mcp_gateway.formats import kept_files, require_current
from mcp_gateway.identity.verifier import principal_from_user
from mcp_gateway.jailed_tools import JailedTools
from mcp_gateway.metrics import NO_METRICS, Metrics
from mcp_gateway.names import split_canonical
from mcp_gateway.pins import PinStore
from mcp_gateway.pipeline import Next, Stage, ToolCall, compose
from mcp_gateway.registry import Registry, load_cells, tool_entries
from mcp_gateway.sdk import CallOutcome, Principal, ToolError, ToolInfo
from mcp_gateway.secrets.errors import SecretStoreError
from mcp_gateway.secrets.wiring import open_store
from mcp_gateway.server import GatewayServer
from mcp_gateway.stage_spans import span_source
from mcp_gateway.stages.audit import AuditStage
from mcp_gateway.stages.authz import AuthzStage
from mcp_gateway.stages.budget import BudgetStage
from mcp_gateway.stages.dispatch import DispatchStage
from mcp_gateway.stages.dlp import DlpStage
from mcp_gateway.stages.trace import TraceStage
from mcp_gateway.stages.validate import ValidateStage
from mcp_gateway.status_files import status_path, write_status
from mcp_gateway.telemetry import tracer_of
from mcp_gateway.tools import ToolEntry
from mcp_gateway.upstream import Upstream

MAX_CELL_CALL_DEPTH = 8


def _first_leaf(group: BaseExceptionGroup[CellLoadError]) -> BaseException:
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first


logger = logging.getLogger(__name__)


class Gateway:
    """Everything behind the transports. Build it, then `async with gateway.running():`."""

    def __init__(
        self,
        config: Config,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        stdio_principal: str | None = None,
        bus: Bus | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """`metrics` None means metrics are off (see telemetry_setup.Telemetry)."""
        self.config = config
        self.metrics = metrics
        tracer = tracer_of(tracer_provider)
        self.stdio_principal = Principal(stdio_principal or config.server.principal, roles=("local",))
        self.http_principal = Principal("anonymous")
        self._loaded = load_cells(config)
        local = [item for item in self._loaded if not item.config.remote]  # remote ones: hosted by workers
        risky = [item for item in local if any(spec.risk == "high" for spec in item.cell.tool_specs)]
        self.jail = (
            JailedTools(config.jail, risky, metrics=metrics or NO_METRICS, tracer=tracer)
            if risky and config.jail.enabled
            else None
        )
        separator = config.server.wire_separator
        jail_on = config.jail.enabled
        # The registry first: it refuses a high-risk tool when the jail is off, before any host exists.
        self.registry = Registry(
            entry for item in self._loaded for entry in tool_entries(item, separator, jail=jail_on)
        )
        self.hosts = [CellHost(item.cell, self, self.jail if item in risky else None) for item in local]
        pins = PinStore(config.server.state_dir)
        self.upstreams = [
            Upstream(
                item,
                config.jail,
                separator,
                pins,
                self._upstream_tools_changed,
                self._tool_quarantined,
                metrics or NO_METRICS,
            )
            for item in config.upstreams
            if item.enabled
        ]
        if self.upstreams and not config.jail.enabled:
            raise CellLoadError("upstream MCP servers run only in the jail, and [jail] enabled = false")
        clash = self.registry.namespaces() & {upstream.address for upstream in self.upstreams}
        if clash:
            raise CellLoadError(f"an upstream and a cell share the namespace {sorted(clash)[0]!r}")
        self.bus: Bus = bus or gateway_bus(config)
        self.ledger = BudgetLedger.in_state_dir(config.server.state_dir)
        # Loaded and tested now: a gateway whose policy does not load does not start (fail closed).
        self.policy = PolicyStore(resolve_policy_dir(config.authz)) if config.authz.enabled else None
        # dlp.yaml and presidio.yaml are read now (a bad file stops start-up); the engine loads later.
        self.secrets = open_store(config)
        self.dlp = (
            DlpRuntime(config.dlp, policy_dir=config.authz.policy_dir, state_dir=config.server.state_dir)
            if config.dlp.enabled
            else None
        )
        if self.dlp is not None:
            self.dlp.set_secret_source(self._stored_secret_values)
            self.dlp.set_key_source(lambda: self.secrets.derive_key("dlp"))
        self._refresh_surface()
        # The audit log's keys come from the secret store (the master key must be usable).
        audit = config.audit
        # Keys are derived when the log opens (building a Gateway, as `doctor` does, creates nothing).
        self.audit = (
            AuditLog(audit, config.server.state_dir, lambda: AuditKeys.derive(self.secrets.derive_key))
            if audit.enabled
            else None
        )
        spans = span_source(tracer_provider) if tracer_provider is not None else None
        self.pipeline: Next = compose(self._stages(tracer), DispatchStage(self.bus), spans)
        self.server = GatewayServer(
            config.server.name,
            self.registry,
            self.pipeline,
            self.principal_for,
            self.visible_entries,
            separator=separator,
            tracer=tracer,
            metrics=metrics,
        )

    def _stages(self, tracer: trace.Tracer | None) -> list[Stage]:
        # trace -> audit -> identity -> budget -> authz -> validate -> dlp-in; dispatch; dlp-out.
        # Identity is resolved before the pipeline (the principal travels in the call).
        observed = tracer is not None or self.metrics is not None
        metrics = self.metrics or NO_METRICS
        stages: list[Stage] = [TraceStage(tracer, metrics)] if observed else []
        if self.audit is not None:
            stages.append(AuditStage(self.audit, metrics))
        if self.config.budgets.enabled:
            stages.append(BudgetStage(self.ledger, self.config.budgets, lookup=self.registry.by_canonical))
        if self.policy is not None:
            stages.append(AuthzStage(self.policy))
        stages.append(ValidateStage())
        if self.dlp is not None:
            stages.append(DlpStage(self.dlp))
        return stages

    # --- identity ---------------------------------------------------------------------------
    def principal_for(self, transport: str, request: Any) -> Principal:
        """stdio acts for the configured local principal; HTTP for the bearer token's principal
        (checked by the transport's authentication middleware), else anonymous."""
        if transport == "stdio" or request is None:
            return self.stdio_principal
        scope = getattr(request, "scope", None)
        user = scope.get("user") if isinstance(scope, dict) else None
        return principal_from_user(user) or self.http_principal

    def visible_entries(self, principal: Principal) -> Sequence[ToolEntry]:
        """The tools `principal` may call: tools/list never shows one it would be refused."""
        if self.policy is None:
            return self._all_entries
        allowed = set(self.policy.current.visible(principal, self._all_names))
        return [entry for entry in self._all_entries if entry.canonical in allowed]

    # --- GatewayView, for cells ------------------------------------------------------------
    @property
    def version(self) -> str:
        return __version__

    def visible_tools(self, principal: Principal) -> Sequence[ToolInfo]:
        return [
            ToolInfo(entry.canonical, entry.description, entry.risk, entry.cost, entry.version)
            for entry in self.visible_entries(principal)
        ]

    async def call_tool(
        self, principal: Principal, tool: str, arguments: Mapping[str, Any], *, depth: int
    ) -> CallOutcome:
        if depth > MAX_CELL_CALL_DEPTH:
            return CallOutcome(True, f"cell calls nested deeper than {MAX_CELL_CALL_DEPTH}", None)
        try:
            split_canonical(tool)
        except MalformedName as exc:
            return CallOutcome(True, str(exc), None)
        entry = self.registry.by_canonical(tool)
        if entry is None:
            return CallOutcome(True, f"Unknown tool: {tool}", None)
        # A forbidden tool is refused by the authz stage, with the same message, and traced.
        try:
            result = await self.pipeline(ToolCall(entry, dict(arguments), principal, "cell", depth=depth))
        except Refusal as refusal:
            return CallOutcome(True, refusal.message, None)
        return CallOutcome(result.is_error, result.text(), result.structured)

    async def _upstream_tools_changed(self, namespace: str, entries: list[ToolEntry]) -> None:
        self.registry.replace_namespace(namespace, entries)
        self._refresh_surface()
        await self.server.tools_changed(namespace)

    async def _tool_quarantined(self, tool: str, hashes: dict[str, str]) -> None:
        # The tool stays hidden and refused whether or not its audit event can be written.
        if self.audit is not None:
            try:
                await self.audit.append("tool_quarantined", {"tool": tool, "definition": hashes})
            except AuditUnavailable as exc:
                logger.error("cannot audit the quarantine of %s: %s", tool, exc.message)

    def _refresh_surface(self) -> None:
        self._all_entries = self.registry.all()
        self._all_names = [entry.canonical for entry in self._all_entries]

    def _stored_secret_values(self) -> list[str]:
        # Read on DLP's worker thread when its engine is built. Without a usable master key
        # there are no stored secrets to know, and none can be released either; a secret that
        # does not decrypt cannot be released, so skipping it loses nothing.
        values = []
        try:
            names = self.secrets.names()
        except SecretStoreError:
            return []
        for name in names:
            try:
                values.append(self.secrets.get(name))
            except SecretStoreError as exc:
                logger.warning("DLP cannot learn secret %s: %s", name, exc)
        return values

    async def read_secret(self, cell: Principal, name: str, *, caller: Principal) -> str:
        """Release a secret to a cell: the policy decides (`secret:NAME`, `read`, as the cell),
        the audit record of the decision is durable before the value moves, and DLP knows the
        value before the cell can put it in a result."""
        refused = ToolError(f"secret {name!r} is not available to {cell.name}")
        obj = f"secret:{name}"
        # Without a policy nothing is granted: secrets are deny-by-default like everything else.
        usable = self.policy is not None and is_object(obj)
        decision = self.policy.current.decide(cell, obj, READ) if usable and self.policy else None
        allowed = decision is not None and decision.allowed
        fields: dict[str, Any] = {
            "principal": cell.name, "caller": caller.name, "caller_roles": list(caller.roles),
            "secret": name, "decision": "allow" if allowed else "deny",
            "rule": decision.as_note()["rule"] if decision is not None else None,
        }  # fmt: skip
        value = None
        if allowed:
            try:
                value = self.secrets.get(name)
            except SecretStoreError as exc:
                fields.update(decision="deny", outcome=type(exc).__name__)
        if self.audit is not None:
            await self.audit.append("secret_read", fields)  # AuditUnavailable: nothing is released
        if value is None:
            raise refused
        if self.dlp is not None:
            self.dlp.know_secret(value)
        return value

    # --- policy ----------------------------------------------------------------------------
    def _on_policy_event(self, event: PolicyEvent) -> None:
        if event.kind == "reloaded":
            logger.info("policy reloaded (digest %s)", event.digest[:12])
        else:
            logger.warning("policy change rejected, keeping the last good policy: %s", event.reason)
        self._record_policy_status()

    def _on_dlp_event(self, event: ReloadEvent) -> None:
        if event.kind == "rejected":
            logger.warning("DLP change rejected, keeping the last good files: %s", event.reason)
        if self.dlp is not None:
            self._record_status("dlp", self.dlp.status())

    async def _load_dlp(self) -> None:
        if self.dlp is not None:
            await self.dlp.load()
            self._record_status("dlp", self.dlp.status())

    def _record_policy_status(self) -> None:
        if self.policy is not None:
            self._record_status("policy", self.policy.status())

    def _record_status(self, name: str, status: dict[str, Any]) -> None:
        """What `doctor` reads of the running gateway (a failed write is logged, never raised)."""
        path = status_path(self.config.server.state_dir, name)
        try:
            write_status(path, status)
        except OSError as exc:
            logger.warning("cannot write %s: %s", path, exc)

    # --- lifecycle -------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "tools": len(self.registry.all())}

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Gateway]:
        """Start every cell and serve it on the bus; stop them all on the way out."""
        state_dir = self.config.server.state_dir
        # A kept file in a format this gateway does not run stops it here, naming `migrate`.
        require_current(kept_files(self.config, [host.cell.stored_files() for host in self.hosts]))
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        (state_dir / "cells").mkdir(exist_ok=True, mode=0o700)
        async with AsyncExitStack() as stack:
            # Cells start before the task group opens, so a start-up failure surfaces as itself
            # (one clear line from the CLI), not wrapped in an exception group.
            await start_cells(self.hosts, stack)
            if self.audit is not None:
                self.audit.open()
                stack.callback(self.audit.close)
            await self.ledger.open()
            stack.push_async_callback(self.ledger.aclose)
            if self.jail is not None:
                await self.jail.start()
                stack.push_async_callback(self.jail.aclose)
            await stack.enter_async_context(linked(self.bus, self))  # the broker, when cells are remote

            try:
                async with anyio.create_task_group() as tg:
                    if self.audit is not None:
                        await tg.start(self.audit.run)
                    tg.start_soon(self.ledger.run_flusher)
                    if self.dlp is not None:
                        tg.start_soon(self._load_dlp)
                        if self.dlp.watchable:
                            await tg.start(self.dlp.watch, self._on_dlp_event)
                    if self.policy is not None:
                        self._record_policy_status()
                        await tg.start(self.policy.watch, self._on_policy_event)
                    for host in self.hosts:
                        await tg.start(self.bus.serve, host.address, host.handle)
                    for upstream in self.upstreams:
                        self.registry.extend(await tg.start(upstream.supervise))
                        await tg.start(self.bus.serve, upstream.address, upstream.handle)
                    self._refresh_surface()
                    try:
                        yield self
                    finally:
                        tg.cancel_scope.cancel()
            except* CellLoadError as failed:
                # An upstream that does not come up fails start-up as itself, not wrapped in groups.
                raise _first_leaf(failed) from None
