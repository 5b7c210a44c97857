"""Turning findings into edits: what each action writes in place of a finding.

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

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from mcp_gateway.dlp.model import Finding, Leaf
from mcp_gateway.dlp.policy import Action, MaskRule
from mcp_gateway.dlp.pseudonyms import PseudonymVault


@dataclass(frozen=True, slots=True)
class Decided:
    finding: Finding
    action: Action

    def record(self) -> dict[str, str | float]:
        """What spans and audit records keep of a finding: never its value."""
        f = self.finding
        return {"entity": f.entity, "path": f.path, "score": round(f.score, 2), "action": self.action.name}


class Editor:
    def __init__(self, hash_key: bytes, vault: PseudonymVault, mask: MaskRule) -> None:
        self._hash_key, self._vault, self._mask = hash_key, vault, mask

    def replacement(self, decided: Decided, value: str, principal: str) -> str:
        entity = decided.finding.entity
        match decided.action:
            case Action.redact:
                return f"<{entity}>"
            case Action.mask:
                keep = self._mask.keep_last if len(value) > self._mask.keep_last * 2 else 0
                return self._mask.char * (len(value) - keep) + value[len(value) - keep :]
            case Action.hash:
                digest = hmac.new(self._hash_key, f"{entity}\x00{value}".encode(), hashlib.sha256).hexdigest()
                return f"<{entity}:{digest[:16]}>"
            case Action.pseudonymize:
                return self._vault.placeholder(principal, entity, value)
        return value

    def edits(self, leaves: Sequence[Leaf], decided: Sequence[Decided], principal: str) -> dict[str, str]:
        """Leaf path -> the leaf's new text, for every leaf with a finding to rewrite."""
        by_path: dict[str, list[Decided]] = {}
        for item in decided:
            if item.action not in (Action.allow, Action.block):
                by_path.setdefault(item.finding.path, []).append(item)
        texts: Mapping[str, str] = {leaf.path: leaf.text for leaf in leaves if leaf.path in by_path}
        out: dict[str, str] = {}
        for path, items in by_path.items():
            text = texts[path]
            pieces: list[str] = []
            cursor = 0
            for item in _non_overlapping(items):
                start, end = item.finding.start, item.finding.end
                pieces.append(text[cursor:start])
                pieces.append(self.replacement(item, text[start:end], principal))
                cursor = end
            pieces.append(text[cursor:])
            out[path] = "".join(pieces)
        return out


def _non_overlapping(items: Sequence[Decided]) -> list[Decided]:
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
