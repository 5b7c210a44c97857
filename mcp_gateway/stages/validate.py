"""The validate stage: arguments are checked against the tool's input schema.

The SDK's low-level server advertises `inputSchema` but never enforces it; here a call with
wrong arguments ends with an `isError` result naming each bad field (so the model can correct
itself), and the cell receives arguments normalised by its own model.
"""

from __future__ import annotations

from mcp_gateway.errors import InvalidArguments
from mcp_gateway.pipeline import Next, ToolCall, ToolResult


class ValidateStage:
    name = "validate"

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        try:
            call.arguments = call.tool.validate(call.arguments)
        except InvalidArguments as refusal:
            refusal.stage = refusal.stage or self.name  # for the audit record, the span and the metrics
            raise
        return await call_next(call)
