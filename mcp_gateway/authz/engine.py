"""Decisions: who may do what to which object, and which rule said so.

A principal acts as several subjects at once: its own name and each of its roles (`role:NAME`),
all in its own domain. Deny overrides: if any rule matching any of those subjects denies, the
answer is no; otherwise yes if some rule allows; otherwise no by default (no rule, reason
"no rule allows"). A principal, domain or object that is not a valid name gets no at once.

Decisions are cached per engine, keyed on (name, roles, domain, object, action). An engine
belongs to one immutable policy snapshot, so a reload (a new snapshot) starts with an empty
cache by construction; the cache is bounded by being cleared when full.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mcp_gateway.authz.casbin_model import CasbinEnforcer, Verdict
from mcp_gateway.authz.index import RuleIndex
from mcp_gateway.authz.patterns import ROLE_PREFIX, is_domain, is_object, is_role_name, is_subject
from mcp_gateway.authz.policy_files import Policy
from mcp_gateway.sdk import Principal

NO_RULE = "no rule allows"
MAX_CACHED_DECISIONS = 65_536
CALL = "call"
READ = "read"

Evaluator = Callable[[str, str, str, str], Verdict]
CacheKey = tuple[str, tuple[str, ...], str, str, str]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: tuple[str, ...] | None
    """The `p` line that decided (subject, domain, object, action, effect), None by default."""
    reason: str

    def as_note(self) -> dict[str, Any]:
        """The form recorded in `ToolCall.notes["authz"]` and audit records."""
        return {"allowed": self.allowed, "rule": list(self.rule) if self.rule else None, "reason": self.reason}


def rule_text(rule: tuple[str, ...]) -> str:
    return "p, " + ", ".join(rule)


def subjects_of(principal: Principal) -> tuple[str, ...] | Decision:
    """The subjects a principal acts as, or the refusal when it cannot act at all."""
    if not is_subject(principal.name) or principal.name.startswith(ROLE_PREFIX):
        return Decision(False, None, "the principal's name is not a valid subject")
    if not is_domain(principal.domain):
        return Decision(False, None, "the principal's domain is not a valid domain")
    # An invalid role can be dropped safely: no rule can name it, so it neither grants nor denies.
    roles = (ROLE_PREFIX + role for role in principal.roles if is_role_name(role))
    return tuple(dict.fromkeys((principal.name, *roles)))


@lru_cache(maxsize=4096)
def decision_of(allowed: bool, rule: tuple[str, ...] | None) -> Decision:
    """The one Decision for a verdict (shared: decisions are immutable, and this keeps tools/list cheap)."""
    if rule is None:
        return Decision(False, None, NO_RULE)
    return Decision(allowed, rule, f"{'allowed' if allowed else 'denied'} by {rule_text(rule)}")


class Engine:
    """The decision API of one policy snapshot: an indexed fast path, the plain enforcer as reference."""

    def __init__(self, policy: Policy, enforcer: CasbinEnforcer) -> None:
        self.policy = policy
        self.index = RuleIndex(policy)
        self.enforcer = enforcer
        self._cache: dict[CacheKey, Decision] = {}

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    def decide(self, principal: Principal, obj: str, act: str) -> Decision:
        key = (principal.name, principal.roles, principal.domain, obj, act)
        decision = self._cache.get(key)
        if decision is None:
            decision = self.decide_uncached(principal, obj, act)
            self._remember(key, decision)
        return decision

    def decide_uncached(self, principal: Principal, obj: str, act: str) -> Decision:
        return self._decide(principal, obj, act, self.index.evaluate_valid)

    def decide_plain(self, principal: Principal, obj: str, act: str) -> Decision:
        """The same decision from the plain Casbin enforcer (~ms per call): for checks, not traffic."""
        return self._decide(principal, obj, act, self.enforcer.evaluate)

    def decide_subjects(self, subjects: Iterable[str], domain: str, obj: str, act: str) -> Decision:
        """A decision for bare subjects (a role on its own, say), as `policy diff` needs."""
        return self._decide_as(tuple(subjects), domain, obj, act, self.index.evaluate_valid)

    def visible(self, principal: Principal, canonical_names: Iterable[str]) -> list[str]:
        """The tools among `canonical_names` (in their order) that `principal` may call."""
        subjects = subjects_of(principal)
        if isinstance(subjects, Decision):
            return []
        roles, domain, cache = principal.roles, principal.domain, self._cache
        visible: list[str] = []
        for name in canonical_names:
            # The same cache as decide(): a tools/list warms the calls that follow, and vice versa.
            key = (principal.name, roles, domain, name, CALL)
            decision = cache.get(key)
            if decision is None:
                decision = self._decide_as(subjects, domain, name, CALL, self.index.evaluate_valid)
                self._remember(key, decision)
            if decision.allowed:
                visible.append(name)
        return visible

    def _decide(self, principal: Principal, obj: str, act: str, evaluate: Evaluator) -> Decision:
        subjects = subjects_of(principal)
        if isinstance(subjects, Decision):
            return subjects
        return self._decide_as(subjects, principal.domain, obj, act, evaluate)

    @staticmethod
    def _decide_as(subjects: tuple[str, ...], domain: str, obj: str, act: str, evaluate: Evaluator) -> Decision:
        if not is_object(obj):
            return Decision(False, None, "not a valid object name")
        # Deny overrides across subjects; among allows, the first subject's rule is reported.
        allowed_by: tuple[str, ...] | None = None
        for subject in subjects:
            allowed, rule = evaluate(subject, domain, obj, act)
            if not allowed and rule is not None:
                return decision_of(False, rule)
            if allowed and allowed_by is None:
                allowed_by = rule
        return decision_of(allowed_by is not None, allowed_by)

    def _remember(self, key: CacheKey, decision: Decision) -> None:
        if len(self._cache) >= MAX_CACHED_DECISIONS:
            self._cache.clear()
        self._cache[key] = decision
