"""The budget stage: a call proceeds only if every budget of its principal has room for it.

Before the call: concurrent calls, calls per minute, result bytes already spent today, and
the tool's cost against today's remaining cost units. When the cost does not fit and the tool
declares a cheaper fallback, the call is rewritten to the fallback (and so on down the chain)
as long as one fits. After the call, the result's size is added to today's bytes: a budget can
be overrun by the one result that crosses it, since no one knows a result's size in advance.

The cost is taken before the call, so concurrent calls cannot spend the same units twice, and
given back when a later stage refuses the call (authz, validation, DLP, an unreachable cell):
such a call never ran. A call that timed out did run, and stays charged.

What the stage learnt goes to `call.notes["budget"]` for the audit record: the remaining room
in each budget (None for unlimited), the bytes charged, and any fallback taken.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Final

from pydantic_core import to_json

from mcp_gateway.budgets.config import LABELS, BudgetConfig, Limits
from mcp_gateway.budgets.errors import BudgetExceeded
from mcp_gateway.budgets.ledger import WINDOW, BudgetLedger, Usage
from mcp_gateway.errors import Refusal, ToolTimeout
from mcp_gateway.pipeline import Next, ToolCall, ToolResult
from mcp_gateway.sdk import Principal
from mcp_gateway.tools import ToolEntry

MAX_FALLBACK_HOPS: Final = 8
_LIMITS_CACHE_SIZE: Final = 4096

ToolLookup = Callable[[str], ToolEntry | None]


def result_bytes(result: ToolResult) -> int:
    """The size of a result as JSON, the way it crosses the wire (content plus structured)."""
    size = len(to_json(result.content, by_alias=True, exclude_none=True))
    if result.structured is not None:
        size += len(to_json(result.structured))
    return size


def _room(limit: int | None, used: int) -> int | None:
    return None if limit is None else max(0, limit - used)


class BudgetStage:
    name = "budget"

    def __init__(self, ledger: BudgetLedger, config: BudgetConfig, *, lookup: ToolLookup) -> None:
        """`lookup` finds a tool by canonical name (the registry's `by_canonical`), for fallbacks."""
        self._ledger = ledger
        self._config = config
        self._lookup = lookup
        self._limits: dict[tuple[str, tuple[str, ...]], Limits] = {}

    def limits_for(self, principal: Principal) -> Limits:
        key = (principal.name, principal.roles)
        limits = self._limits.get(key)
        if limits is None:
            if len(self._limits) >= _LIMITS_CACHE_SIZE:
                self._limits.clear()  # crude, but bounds memory against a stream of new principals
            limits = self._limits[key] = self._config.limits_for(principal.name, principal.roles)
        return limits

    async def __call__(self, call: ToolCall, call_next: Next) -> ToolResult:
        if not self._config.enabled:
            return await call_next(call)
        ledger, name = self._ledger, call.principal.name
        limits = self.limits_for(call.principal)
        now = ledger.now()
        usage = ledger.usage(name, now)
        window = ledger.recent_calls(name, now)
        note: dict[str, Any] = {}
        call.notes["budget"] = note
        try:
            self._check_room(name, limits, usage, window, now)
            tool = self._affordable(call.tool, limits, usage, now)
        except BudgetExceeded as refusal:
            note.update(exceeded=refusal.budget, remaining=self._remaining(name, limits, usage, window))
            raise
        if tool is not call.tool:
            note.update(fallback_from=call.tool.canonical, fallback_to=tool.canonical)
            call.asked = call.tool_as_asked
            call.tool = tool
        if limits.calls_per_minute is not None:
            window.append(now)
        if tool.cost:
            ledger.add(usage, cost_units=tool.cost)
        ledger.enter(name)
        note["cost"] = tool.cost
        note["remaining"] = self._remaining(name, limits, usage, window)
        try:
            result = await call_next(call)
        except Refusal as refusal:
            if tool.cost and not isinstance(refusal, ToolTimeout):
                ledger.add(usage, cost_units=-tool.cost)
                note["cost"] = 0
            raise
        finally:
            ledger.leave(name)
        size = result_bytes(result)
        today = ledger.usage(name, ledger.now())
        ledger.add(today, result_bytes=size)
        note["result_bytes"] = size
        note["remaining"]["result_bytes_per_day"] = _room(limits.result_bytes_per_day, today.result_bytes)
        return result

    def _check_room(self, name: str, limits: Limits, usage: Usage, window: deque[float], now: float) -> None:
        if limits.concurrent_calls is not None and self._ledger.running(name) >= limits.concurrent_calls:
            detail = f"{limits.concurrent_calls} already running"
            raise BudgetExceeded(LABELS["concurrent_calls"], detail, now=now, resets_at=None)
        if limits.calls_per_minute is not None and len(window) >= limits.calls_per_minute:
            resets_at = window[0] + WINDOW if window else now + WINDOW
            detail = f"{limits.calls_per_minute} calls in the last {WINDOW:.0f} s"
            raise BudgetExceeded(LABELS["calls_per_minute"], detail, now=now, resets_at=resets_at)
        if limits.result_bytes_per_day is not None and usage.result_bytes >= limits.result_bytes_per_day:
            detail = f"{usage.result_bytes} of {limits.result_bytes_per_day} bytes returned today"
            raise BudgetExceeded(LABELS["result_bytes_per_day"], detail, now=now, resets_at=usage.resets_at)

    def _affordable(self, tool: ToolEntry, limits: Limits, usage: Usage, now: float) -> ToolEntry:
        """`tool`, or the first fallback down its chain whose cost fits today's remaining units."""
        limit = limits.cost_units_per_day
        if limit is None:
            return tool
        candidate: ToolEntry | None = tool
        for _ in range(MAX_FALLBACK_HOPS):
            if candidate is None:
                break
            if usage.cost_units + candidate.cost <= limit:
                return candidate
            candidate = self._lookup(candidate.fallback) if candidate.fallback else None
        detail = f"{usage.cost_units} of {limit} used today, {tool.canonical} costs {tool.cost}"
        raise BudgetExceeded(LABELS["cost_units_per_day"], detail, now=now, resets_at=usage.resets_at)

    def _remaining(self, name: str, limits: Limits, usage: Usage, window: deque[float]) -> dict[str, int | None]:
        return {
            "calls_per_minute": _room(limits.calls_per_minute, len(window)),
            "concurrent_calls": _room(limits.concurrent_calls, self._ledger.running(name)),
            "cost_units_per_day": _room(limits.cost_units_per_day, usage.cost_units),
            "result_bytes_per_day": _room(limits.result_bytes_per_day, usage.result_bytes),
        }
