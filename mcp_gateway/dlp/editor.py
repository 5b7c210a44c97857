"""The editor: rewrites the leaves that hold findings, through Presidio's AnonymizerEngine.

It imports Presidio (which brings spaCy), so it is built with the engine (see build.py), never
on the gateway's start-up path.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from mcp_gateway.dlp.actions import Decided, non_overlapping
from mcp_gateway.dlp.model import Leaf
from mcp_gateway.dlp.policy import Action, MaskRule
from mcp_gateway.dlp.pseudonyms import PseudonymVault


class Editor:
    """Rewrites leaves through Presidio's AnonymizerEngine: `replace` for redact, and `custom`
    operators for mask, hash and pseudonymize (a keyed hash and a per-principal vault are ours;
    Presidio's own `hash` is unkeyed, and its `mask` counts a fixed number of characters)."""

    def __init__(self, hash_key: bytes, vault: PseudonymVault, mask: MaskRule) -> None:
        self._hash_key, self._vault, self._mask = hash_key, vault, mask
        self._anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]

    def _masked(self, value: str) -> str:
        keep = self._mask.keep_last if len(value) > self._mask.keep_last * 2 else 0
        return self._mask.char * (len(value) - keep) + value[len(value) - keep :]

    def _hashed(self, entity: str, value: str) -> str:
        digest = hmac.new(self._hash_key, f"{entity}\x00{value}".encode(), hashlib.sha256).hexdigest()
        return f"<{entity}:{digest[:16]}>"

    def _operator(self, entity: str, action: Action, principal: str) -> OperatorConfig:
        match action:
            case Action.mask:
                return OperatorConfig("custom", {"lambda": self._masked})
            case Action.hash:
                return OperatorConfig("custom", {"lambda": lambda value: self._hashed(entity, value)})
            case Action.pseudonymize:
                return OperatorConfig(
                    "custom", {"lambda": lambda value: self._vault.placeholder(principal, entity, value)}
                )
        return OperatorConfig("replace", {"new_value": f"<{entity}>"})

    def edits(self, leaves: Sequence[Leaf], decided: Sequence[Decided], principal: str) -> dict[str, str]:
        """Leaf path -> the leaf's new text, for every leaf with a finding to rewrite."""
        by_path: dict[str, list[Decided]] = {}
        for item in decided:
            if item.action not in (Action.allow, Action.block):
                by_path.setdefault(item.finding.path, []).append(item)
        texts: Mapping[str, str] = {leaf.path: leaf.text for leaf in leaves if leaf.path in by_path}
        out: dict[str, str] = {}
        for path, items in by_path.items():
            merged = non_overlapping(items)
            # One operator per (entity, action): a merged group keeps its lead's entity and action,
            # so two groups of one entity can differ; each gets a key of its own.
            results, operators = [], {}
            for number, item in enumerate(merged):
                key = f"{item.finding.entity}#{number}"
                operators[key] = self._operator(item.finding.entity, item.action, principal)
                results.append(RecognizerResult(key, item.finding.start, item.finding.end, item.finding.score))
            edited = self._anonymizer.anonymize(texts[path], results, operators, merge_entities_with_spaces=False)
            out[path] = edited.text
        return out
