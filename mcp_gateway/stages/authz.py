"""The authz stage: every call is decided by the policy in force for its principal.

The decision (and the rule that took it) is recorded in `call.notes["authz"]` for the audit
stage and on the current span. A refusal reads exactly like an unknown tool: the caller cannot
tell a tool it may not call from one that does not exist. A call a budget rewrote to a cheaper
fallback needs both tools allowed, and a refusal names the tool the caller asked for.
"""

from __future__ import annotations

from opentelemetry import trace

from mcp_gateway.authz.engine import CALL, rule_text
from mcp_gateway.authz.reload import PolicyStore
from mcp_gateway.errors import Forbidden
from mcp_gateway.pipeline import Next, ToolCall, ToolResult

DECISION_ATTRIBUTE = "mcp_gateway.authz.decision"
RULE_ATTRIBUTE = "mcp_gateway.authz.rule"


class AuthzStage:
    name = "authz"

    def __init__(self, store: PolicyStore) -> None:
        self._store = store

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        policy = self._store.current
        decision = policy.decide(call.principal, call.tool.canonical, CALL)
        if call.asked is not None and decision.allowed:
            # A budget's fallback runs only for a caller allowed the tool it asked for as well:
            # a cheaper tool is no way around a refusal (or a way to learn a tool exists).
            decision = policy.decide(call.principal, call.asked.canonical, CALL)
        call.notes["authz"] = decision.as_note()
        span = trace.get_current_span()
        span.set_attribute(DECISION_ATTRIBUTE, "allow" if decision.allowed else "deny")
        if decision.rule is not None:
            span.set_attribute(RULE_ATTRIBUTE, rule_text(decision.rule))
        if not decision.allowed:
            raise Forbidden(f"Unknown tool: {name_as_called(call)}", stage=self.name)
        return await call_next(call)


def name_as_called(call: ToolCall) -> str:
    """The name the caller used, as the unknown-tool message quotes it: clients name tools by
    their wire name, cells (Gateway.call_tool) by their canonical name."""
    asked = call.tool_as_asked
    return asked.canonical if call.transport == "cell" else asked.wire
