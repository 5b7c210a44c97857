"""The DLP stage: Presidio on every crossing — the arguments on their way in, the result on its
way out (ARCHITECTURE.md's dlp-in and dlp-out, which wrap dispatch as one stage).

What was found goes to `call.notes["dlp"]` for the audit record and to the span, as entity
types, JSON paths, scores and actions, never values. A path on the span is the one a message
would show (`path_for_message`): an object key can itself be the value found (an email used as
a key), and spans travel further than the audit log (a collector, a file auditors read).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from opentelemetry import trace

from mcp_gateway.dlp.paths import path_for_message
from mcp_gateway.dlp.runtime import DlpRuntime
from mcp_gateway.dlp.service import Outcome
from mcp_gateway.errors import DataBlocked
from mcp_gateway.pipeline import Next, ToolCall, ToolResult


def _annotate(direction: str, outcome: Outcome | None) -> None:
    span = trace.get_current_span()
    if outcome is None or not span.is_recording():
        return
    records = outcome.records()
    counts = Counter(str(record["entity"]) for record in records)
    span.set_attribute(f"mcp_gateway.dlp.{direction}.findings", len(records))
    if counts:
        span.set_attribute(f"mcp_gateway.dlp.{direction}.entities", sorted(counts))
    actions: Sequence[str] = sorted({str(record["action"]) for record in records})
    if actions:
        span.set_attribute(f"mcp_gateway.dlp.{direction}.actions", list(actions))
    for record in records:
        span.add_event("dlp.finding", {"direction": direction, **record, "path": path_for_message(str(record["path"]))})


class DlpStage:
    name = "dlp"

    def __init__(self, runtime: DlpRuntime) -> None:
        self._runtime = runtime

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        service = await self._runtime.service()
        tool = call.tool.canonical
        note: dict[str, object] = {}
        call.notes["dlp"] = note
        try:
            call.arguments, inbound = await service.inbound(tool, call.principal, call.arguments)
        except DataBlocked as refusal:
            outcome = refusal.outcome if isinstance(refusal.outcome, Outcome) else None
            note["ingress"] = outcome.records() if outcome else []
            note["blocked"] = "ingress"
            _annotate("ingress", outcome)
            raise
        note["ingress"] = inbound.records()
        _annotate("ingress", inbound)
        result = await call_next(call)
        result, outbound = await service.outbound(tool, call.principal, result)
        note["egress"] = outbound.records()
        if outbound.blocked:
            note["blocked"] = "egress"
        _annotate("egress", outbound)
        return result
