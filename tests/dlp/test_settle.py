"""Settling findings: thresholds, and generic findings inside specific ones."""

from __future__ import annotations

from mcp_gateway.dlp.model import Finding
from mcp_gateway.dlp.settle import settle


def _f(entity: str, start: int, end: int, score: float = 0.9, path: str = "$.a") -> Finding:
    return Finding(entity, path, start, end, score, "r")


def test_findings_below_their_min_score_do_not_count() -> None:
    thresholds = {"PHONE_NUMBER": 0.4, "URL": 0.6}
    found = settle([_f("PHONE_NUMBER", 0, 5, 0.4), _f("URL", 10, 20, 0.5)], lambda e: thresholds.get(e, 0.5))
    assert found == [_f("PHONE_NUMBER", 0, 5, 0.4)]


def test_generic_inside_specific_is_dropped_only_when_wholly_inside_on_the_same_leaf() -> None:
    email = _f("EMAIL_ADDRESS", 0, 20)
    domain = _f("URL", 4, 20)  # the address's domain
    beyond = _f("URL", 15, 30)  # overlaps, reaches further: kept (the actions merge them)
    elsewhere = _f("URL", 4, 20, path="$.b")
    ip_digits = _f("PHONE_NUMBER", 40, 52)
    ip = _f("IP_ADDRESS", 40, 52)
    entropy = _f("HIGH_ENTROPY_TOKEN", 60, 100)
    key = _f("GITHUB_TOKEN", 60, 100)
    found = settle([email, domain, beyond, elsewhere, ip_digits, ip, entropy, key], lambda e: 0.5)
    assert found == [email, beyond, elsewhere, ip, key]
