"""The audit stage: every tool call, allowed or refused, leaves a durable record before its
result (or its refusal) reaches the caller.

The record says who (principal, roles, domain, transport), what (the canonical tool, and the one
asked for when a budget fallback changed it), the decision and the rule that made it, DLP
findings (types and paths), the budget's state, the duration, the result's size and the trace
id. Argument and result values appear only as keyed hashes. If the record cannot be written the
call is refused, whatever it returned (fail closed); a tool with side effects has had them by
then, which the refusal does not undo.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from opentelemetry import trace

from mcp_gateway.audit.log import AuditLog
from mcp_gateway.dlp.paths import path_for_message
from mcp_gateway.errors import Refusal
from mcp_gateway.metrics import NO_METRICS, Metrics
from mcp_gateway.pipeline import Next, ToolCall, ToolResult

SEQ_ATTRIBUTE = "mcp_gateway.audit.seq"


class AuditStage:
    name = "audit"

    def __init__(self, log: AuditLog, metrics: Metrics = NO_METRICS) -> None:
        self._log = log
        self._metrics = metrics

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        started = time.perf_counter()
        arguments_hash = self._log.keys.values_hash(call.arguments)
        try:
            result = await call_next(call)
        except Refusal as refusal:
            await self._record(call, started, arguments_hash, refusal.code, None, refusal.stage)
            raise
        except Exception as exc:
            await self._record(call, started, arguments_hash, f"error:{type(exc).__name__}", None, "")
            raise
        await self._record(call, started, arguments_hash, "tool_error" if result.is_error else "ok", result, "")
        return result

    async def _record(
        self,
        call: ToolCall,
        started: float,
        arguments_hash: str,
        outcome: str,
        result: ToolResult | None,
        refused_by: str,
    ) -> None:
        authz = call.notes.get("authz") or {}
        fields: dict[str, Any] = {
            "principal": call.principal.name,
            "roles": list(call.principal.roles),
            "domain": call.principal.domain,
            "transport": call.transport,
            "tool": call.tool.canonical,
            "decision": "allow" if outcome in ("ok", "tool_error") else "deny",
            "rule": authz.get("rule"),
            "outcome": outcome,
        }
        if call.asked is not None:  # a budget's fallback ran instead
            fields["requested"] = call.asked.canonical
        if refused_by:
            fields["refused_by"] = refused_by
        if "dlp" in call.notes:
            fields["dlp"] = _without_key_names(call.notes["dlp"])
        if "budget" in call.notes:
            fields["budget"] = call.notes["budget"]
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        fields["arguments_hmac"] = arguments_hash
        if result is not None:
            payload = _result_payload(result)
            fields["result_bytes"] = len(payload)
            fields["result_hmac"] = self._log.keys.values_hash(payload.decode())  # the same as hashing the value
        context = trace.get_current_span().get_span_context()
        fields["trace_id"] = f"{context.trace_id:032x}" if context.is_valid else None
        fields["request_id"] = call.request_id
        writing = time.perf_counter()
        seq = await self._log.append("tool_call", fields)
        self._metrics.audit_write(time.perf_counter() - writing)
        call.notes["audit_seq"] = seq  # for the call's span (the trace stage), which outlives this one
        trace.get_current_span().set_attribute(SEQ_ATTRIBUTE, seq)


def _without_key_names(note: dict[str, Any]) -> dict[str, Any]:
    """The DLP note with quoted object keys elided from its paths: a key can itself be the value
    that was found (an email used as a key), and the audit log never holds values."""
    out: dict[str, Any] = {}
    for direction, findings in note.items():
        if isinstance(findings, list):
            out[direction] = [
                {**item, "path": path_for_message(str(item["path"]))}
                if isinstance(item, dict) and "path" in item
                else item
                for item in findings
            ]
        else:
            out[direction] = findings
    return out


def _result_payload(result: ToolResult) -> bytes:
    content = [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content]
    return orjson.dumps([content, result.structured], default=str)
