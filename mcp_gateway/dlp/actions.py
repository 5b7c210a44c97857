"""Decided findings, and what each action writes in place of one (editor.py does the writing).

- allow: nothing (the finding is still recorded);
- redact: `<EMAIL_ADDRESS>`;
- mask: all but the last few characters replaced (`************1111`);
- hash: `<EMAIL_ADDRESS:9c1d4e0a7b2f6d38>`, a keyed hash: equal values give equal hashes, and
  without the key nobody can test a guess;
- pseudonymize: a placeholder the same principal can send back (see pseudonyms.py);
- block: never an edit; the caller refuses the call or withholds the result.

Findings that overlap are merged before editing: one edit over the union of their spans, under
the strictest of their actions, so nothing any of them covered is left in clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from mcp_gateway.dlp.model import Finding, Leaf
from mcp_gateway.dlp.policy import Action


@dataclass(frozen=True, slots=True)
class Decided:
    finding: Finding
    action: Action

    def record(self) -> dict[str, str | float]:
        """What spans and audit records keep of a finding: never its value."""
        f = self.finding
        return {"entity": f.entity, "path": f.path, "score": round(f.score, 2), "action": self.action.name}


class Rewriter(Protocol):
    """Rewrites leaves for decided findings (editor.py is the implementation)."""

    def edits(self, leaves: Sequence[Leaf], decided: Sequence[Decided], principal: str) -> dict[str, str]: ...


def non_overlapping(items: Sequence[Decided]) -> list[Decided]:
    """Overlapping findings become one, over the union of their spans, under the strictest action
    (then the longest span's entity): nothing any of them covered is left in clear."""
    merged: list[list[Decided]] = []
    end = -1
    for item in sorted(items, key=lambda d: d.finding.start):
        if merged and item.finding.start < end:
            merged[-1].append(item)
        else:
            merged.append([item])
        end = max(end, item.finding.end) if len(merged[-1]) > 1 else item.finding.end
    out: list[Decided] = []
    for group in merged:
        lead = max(group, key=lambda d: (d.action, d.finding.end - d.finding.start))
        start = min(d.finding.start for d in group)
        stop = max(d.finding.end for d in group)
        out.append(Decided(replace(lead.finding, start=start, end=stop), lead.action))
    return out
