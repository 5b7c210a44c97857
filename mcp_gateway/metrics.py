"""The gateway's metrics: every instrument in one place, and a do-nothing twin for when they are off.

Names follow the MCP semantic conventions where they define one (`mcp.server.operation.duration`,
seconds, with `mcp.method.name`, `gen_ai.tool.name`, `error.type`, `network.transport`); the
gateway's own live under `mcp_gateway.*`. Label values come only from bounded sets — canonical
tool names (never the name a caller typed), refusal codes, stage names, DLP entity types and
actions — so a caller cannot blow up the number of series, and no argument or result value, no
principal name, ever becomes a label.

Stages hold a `Metrics`; with metrics off it is `NoMetrics`, whose methods return at once (the
trace stage is not even built then, so a call pays nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Protocol

from opentelemetry.metrics import MeterProvider

from mcp_gateway import __version__
from mcp_gateway import telemetry as tm

OPERATION_DURATION: Final = "mcp.server.operation.duration"
CALLS: Final = "mcp_gateway.calls"
REFUSALS: Final = "mcp_gateway.refusals"
DLP_FINDINGS: Final = "mcp_gateway.dlp.findings"
JAIL_RUNS: Final = "mcp_gateway.jail.runs"
JAIL_FAILURES: Final = "mcp_gateway.jail.failures"
AUDIT_WRITE_DURATION: Final = "mcp_gateway.audit.write.duration"

STAGE: Final = "mcp_gateway.stage"
DLP_ENTITY: Final = "mcp_gateway.dlp.entity"
DLP_DIRECTION: Final = "mcp_gateway.dlp.direction"
DLP_ACTION: Final = "mcp_gateway.dlp.action"

# The conventions' boundaries start at 10 ms; a gateway call takes about one, so finer ones go first.
OPERATION_BUCKETS: Final = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
AUDIT_BUCKETS: Final = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)


class Metrics(Protocol):
    def operation(
        self, method: str, seconds: float, *, transport: str, tool: str | None = None, error_type: str | None = None
    ) -> None:
        """One MCP request served (`tools/call`, `tools/list`, `initialize`, ...)."""

    def call(self, tool: str, transport: str, outcome: str) -> None:
        """One call through the pipeline: `ok`, `tool_error`, `refused` or `error`."""

    def refusal(self, tool: str, code: str, stage: str) -> None: ...

    def dlp_findings(self, direction: str, findings: Iterable[Mapping[str, object]]) -> None: ...

    def jail_run(self, tool: str, failure: str | None) -> None:
        """One run in the jail; `failure` says how the jail failed it (`timeout`, `exit`, `sandbox`)."""

    def audit_write(self, seconds: float) -> None: ...


class NoMetrics:
    """Metrics off: nothing is recorded and nothing is allocated."""

    def operation(
        self, method: str, seconds: float, *, transport: str, tool: str | None = None, error_type: str | None = None
    ) -> None:
        return None

    def call(self, tool: str, transport: str, outcome: str) -> None:
        return None

    def refusal(self, tool: str, code: str, stage: str) -> None:
        return None

    def dlp_findings(self, direction: str, findings: Iterable[Mapping[str, object]]) -> None:
        return None

    def jail_run(self, tool: str, failure: str | None) -> None:
        return None

    def audit_write(self, seconds: float) -> None:
        return None


NO_METRICS: Final = NoMetrics()


class OtelMetrics:
    """The instruments on a meter of `provider` (an SDK `MeterProvider` with its readers)."""

    def __init__(self, provider: MeterProvider) -> None:
        meter = provider.get_meter(tm.TRACER_NAME, __version__)
        self._operation = meter.create_histogram(
            OPERATION_DURATION,
            unit="s",
            description="Duration of MCP requests as the server saw them",
            explicit_bucket_boundaries_advisory=OPERATION_BUCKETS,
        )
        self._calls = meter.create_counter(CALLS, unit="{call}", description="Tool calls through the pipeline")
        self._refusals = meter.create_counter(REFUSALS, unit="{call}", description="Tool calls a stage refused")
        self._findings = meter.create_counter(DLP_FINDINGS, unit="{finding}", description="DLP findings")
        self._jail_runs = meter.create_counter(JAIL_RUNS, unit="{run}", description="Tool runs in the jail")
        self._jail_failures = meter.create_counter(
            JAIL_FAILURES, unit="{run}", description="Jail runs the jail itself failed (timeout, exit status, sandbox)"
        )
        self._audit = meter.create_histogram(
            AUDIT_WRITE_DURATION,
            unit="s",
            description="Time until a tool call's audit record was durable",
            explicit_bucket_boundaries_advisory=AUDIT_BUCKETS,
        )

    def operation(
        self, method: str, seconds: float, *, transport: str, tool: str | None = None, error_type: str | None = None
    ) -> None:
        attributes = {tm.MCP_METHOD_NAME: method, tm.NETWORK_TRANSPORT: transport}
        if tool is not None:
            attributes[tm.GEN_AI_TOOL_NAME] = tool
        if error_type is not None:
            attributes[tm.ERROR_TYPE] = error_type
        self._operation.record(seconds, attributes)

    def call(self, tool: str, transport: str, outcome: str) -> None:
        self._calls.add(1, {tm.GEN_AI_TOOL_NAME: tool, tm.NETWORK_TRANSPORT: transport, tm.OUTCOME: outcome})

    def refusal(self, tool: str, code: str, stage: str) -> None:
        self._refusals.add(1, {tm.GEN_AI_TOOL_NAME: tool, tm.ERROR_TYPE: code, STAGE: stage or "unknown"})

    def dlp_findings(self, direction: str, findings: Iterable[Mapping[str, object]]) -> None:
        for finding in findings:
            attributes = {
                DLP_DIRECTION: direction,
                DLP_ENTITY: str(finding.get("entity", "")),
                DLP_ACTION: str(finding.get("action", "")),
            }
            self._findings.add(1, attributes)

    def jail_run(self, tool: str, failure: str | None) -> None:
        self._jail_runs.add(1, {tm.GEN_AI_TOOL_NAME: tool})
        if failure is not None:
            self._jail_failures.add(1, {tm.GEN_AI_TOOL_NAME: tool, tm.ERROR_TYPE: failure})

    def audit_write(self, seconds: float) -> None:
        self._audit.record(seconds)
