"""`policy explain`: a decision, and how the policy reached it.

For each subject the principal acts as, the roles it reaches in its domain and every rule that
matched the request, in policy order; then the decision, taken both by the fast path and by the
plain Casbin enforcer (they must agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp_gateway.authz.engine import Decision, Engine, subjects_of
from mcp_gateway.authz.patterns import is_object
from mcp_gateway.sdk import Principal


@dataclass(frozen=True, slots=True)
class SubjectTrace:
    subject: str
    reaches: tuple[str, ...]
    """The roles this subject holds in the domain, directly or inherited (itself excluded)."""
    matched: tuple[tuple[str, ...], ...]
    """Every rule that matched the request for this subject, in policy order."""


@dataclass(frozen=True, slots=True)
class Explanation:
    principal: Principal
    obj: str
    action: str
    decision: Decision
    reference: Decision
    """The plain Casbin enforcer's decision; equal to `decision` unless the engine is broken."""
    subjects: tuple[SubjectTrace, ...]

    @property
    def consistent(self) -> bool:
        return self.decision == self.reference

    def as_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal.name,
            "roles": list(self.principal.roles),
            "domain": self.principal.domain,
            "object": self.obj,
            "action": self.action,
            **self.decision.as_note(),
            "consistent_with_casbin": self.consistent,
            "subjects": [
                {"subject": s.subject, "reaches": list(s.reaches), "matched": [list(rule) for rule in s.matched]}
                for s in self.subjects
            ],
        }


def explain(engine: Engine, principal: Principal, obj: str, action: str) -> Explanation:
    decision = engine.decide_uncached(principal, obj, action)
    reference = engine.decide_plain(principal, obj, action)
    subjects = subjects_of(principal)
    traces: list[SubjectTrace] = []
    if not isinstance(subjects, Decision):
        for subject in subjects:
            reaches = tuple(sorted(engine.index.reachable(subject, principal.domain) - {subject}))
            matched = tuple(
                rule.values
                for rule in engine.index.candidates(subject, principal.domain, action)
                if is_object(obj) and rule.pattern.matches(obj)
            )
            traces.append(SubjectTrace(subject, reaches, matched))
    return Explanation(principal, obj, action, decision, reference, tuple(traces))
