"""From raw findings to the findings that count.

Two rules, applied after scanning (so the fast and the full scanner are compared before them):

1. A finding counts only if its score reaches its entity's `min_score` in dlp.yaml.
2. A generic finding wholly inside a specific one is dropped: Presidio's URL recognizer also
   reports the domain of every email address, its phone recognizer the digits of IP addresses,
   SSNs and card numbers, and the entropy recognizer every vendor key and crypto address. The
   specific finding covers the same characters, so nothing is left unprotected, and the audit
   record names what the data really is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Final

from mcp_gateway.dlp.model import Finding

GENERIC: Final = frozenset({"URL", "PHONE_NUMBER", "HIGH_ENTROPY_TOKEN"})


def settle(findings: Sequence[Finding], min_score: Callable[[str], float]) -> list[Finding]:
    kept = [finding for finding in findings if finding.score >= min_score(finding.entity)]
    specific: dict[str, list[Finding]] = defaultdict(list)
    for finding in kept:
        if finding.entity not in GENERIC:
            specific[finding.path].append(finding)
    if not specific:
        return kept
    return [
        finding
        for finding in kept
        if finding.entity not in GENERIC
        or not any(s.start <= finding.start and finding.end <= s.end for s in specific.get(finding.path, ()))
    ]
