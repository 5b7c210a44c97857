"""The DLP service: scan a call's arguments on the way in and its result on the way out.

It walks the payload into string leaves (leaves.py), scans them (scanner.py), keeps the
findings whose score reaches their entity's `min_score`, decides an action for each from
dlp.yaml (policy.py), and either rewrites the payload (actions.py) or refuses it. Pseudonyms a
principal sends back are restored after the ingress scan, so the cell gets the original value.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import anyio

from mcp_gateway.dlp.actions import Decided, Rewriter
from mcp_gateway.dlp.leaves import Limits, json_leaves, replace_in_json, replace_in_result, result_leaves
from mcp_gateway.dlp.model import Finding, Leaf, Scanner
from mcp_gateway.dlp.paths import path_for_message
from mcp_gateway.dlp.policy import Action, Direction, DlpPolicy
from mcp_gateway.dlp.pseudonyms import PseudonymVault
from mcp_gateway.dlp.settle import settle
from mcp_gateway.errors import DataBlocked
from mcp_gateway.pipeline import ToolResult
from mcp_gateway.sdk import Principal

INLINE_SCAN_CHARS: Final = 64 * 1024
"""Payloads up to this many characters are scanned on the event loop (well under a millisecond
with the fast scanner); bigger ones on a worker thread, so one huge result never stalls others."""


@dataclass(frozen=True, slots=True)
class Outcome:
    decided: tuple[Decided, ...]
    blocked: tuple[Decided, ...]

    def records(self) -> list[dict[str, str | float]]:
        return [item.record() for item in self.decided]


def _describe(blocked: Sequence[Decided]) -> str:
    # A quoted key can be the very value found (a secret used as a key): elided, like on spans.
    seen = dict.fromkeys(f"{d.finding.entity} at {path_for_message(d.finding.path)}" for d in blocked)
    return ", ".join(list(seen)[:5]) + (" and more" if len(seen) > 5 else "")


class DlpService:
    def __init__(
        self, policy: DlpPolicy, scanner: Scanner, editor: Rewriter, vault: PseudonymVault, limits: Limits
    ) -> None:
        self.policy, self.scanner, self._editor, self._vault, self._limits = policy, scanner, editor, vault, limits
        # The scanner's cache is not thread-safe; big payloads are scanned on a worker thread.
        self._lock = threading.Lock()

    def forget_cached(self) -> None:
        """Drop cached scan results (the recognizers changed: a secret became known)."""
        clear = getattr(self.scanner, "clear_cache", None)
        if clear is not None:
            with self._lock:
                clear()

    def _scan_locked(self, leaves: Sequence[Leaf]) -> list[Finding]:
        with self._lock:
            return self.scanner.scan(leaves)

    async def _decide(self, leaves: Sequence[Leaf], tool: str, principal: Principal, direction: Direction) -> Outcome:
        if sum(len(leaf.text) for leaf in leaves) > INLINE_SCAN_CHARS:
            findings = await anyio.to_thread.run_sync(self._scan_locked, leaves)
        else:
            findings = self._scan_locked(leaves)
        actions = self.policy.actions(tool, principal.roles, direction)
        decided = tuple(
            Decided(finding, actions[finding.entity])
            for finding in settle(findings, self.policy.min_score)
            if finding.entity in actions
        )
        return Outcome(decided, tuple(d for d in decided if d.action is Action.block))

    async def inbound(
        self, tool: str, principal: Principal, arguments: dict[str, Any]
    ) -> tuple[dict[str, Any], Outcome]:
        """Arguments as the cell will get them; raises `DataBlocked` when a finding is to be blocked."""
        leaves = json_leaves(arguments, limits=self._limits)
        outcome = await self._decide(leaves, tool, principal, "ingress")
        if outcome.blocked:
            raise DataBlocked(
                f"Refused: the arguments contain {_describe(outcome.blocked)}, which {tool} may not receive.",
                outcome=outcome,
            )
        edits = self._editor.edits(leaves, outcome.decided, principal.name)
        # Placeholders this principal was given stand for values it may send back: restore them.
        for leaf in leaves:
            if leaf.kind == "value":
                current = edits.get(leaf.path, leaf.text)
                restored = self._vault.restore(principal.name, current)
                if restored != current:
                    edits[leaf.path] = restored
        if not edits:
            return arguments, outcome
        rebuilt = replace_in_json(arguments, edits)
        return (rebuilt if isinstance(rebuilt, dict) else arguments), outcome

    async def outbound(self, tool: str, principal: Principal, result: ToolResult) -> tuple[ToolResult, Outcome]:
        """The result as the caller will see it: rewritten, or withheld when a finding is to be blocked."""
        leaves = result_leaves(result, self._limits)
        outcome = await self._decide(leaves, tool, principal, "egress")
        if outcome.blocked:
            message = f"The result of {tool} was withheld: it contained {_describe(outcome.blocked)}."
            return ToolResult.error(message), outcome
        edits = self._editor.edits(leaves, outcome.decided, principal.name)
        return (replace_in_result(result, edits) if edits else result), outcome
