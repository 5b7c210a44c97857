"""`policy diff`: the effective change between two policies, not the textual one.

For every subject either policy names (principals and roles), in every domain either names
(and `default`), which objects it gains or loses. The objects compared are the given tools
(the configured gateway's) and every object pattern either policy mentions: an exact name
stands for itself, a wildcard pattern for a sample object it matches (`secret:db*` is tried as
`secret:dbx`), so a change of who may read which secrets shows up too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mcp_gateway.authz.engine import CALL, Engine
from mcp_gateway.authz.policy_files import Policy

DEFAULT_DOMAIN = "default"


@dataclass(frozen=True, slots=True, order=True)
class Probe:
    label: str
    """The tool or pattern as an admin reads it."""
    action: str
    obj: str
    """The object actually decided (a sample for a wildcard pattern)."""

    def describe(self) -> str:
        return self.label if self.action == CALL else f"{self.label} ({self.action})"


@dataclass(frozen=True, slots=True)
class SubjectChange:
    subject: str
    domain: str
    gains: tuple[Probe, ...]
    loses: tuple[Probe, ...]

    def as_json(self) -> dict[str, Any]:
        def rows(probes: tuple[Probe, ...]) -> list[dict[str, str]]:
            return [{"object": p.label, "action": p.action} for p in probes]

        return {"subject": self.subject, "domain": self.domain, "gains": rows(self.gains), "loses": rows(self.loses)}


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    subjects: tuple[str, ...]
    domains: tuple[str, ...]
    probes: tuple[Probe, ...]
    changes: tuple[SubjectChange, ...]
    added_lines: tuple[str, ...]
    removed_lines: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "changes": [change.as_json() for change in self.changes],
            "subjects": list(self.subjects),
            "domains": list(self.domains),
            "objects": [{"object": p.label, "action": p.action, "sample": p.obj} for p in self.probes],
            "added_lines": list(self.added_lines),
            "removed_lines": list(self.removed_lines),
        }


def probes_for(policies: Iterable[Policy], tools: Iterable[str]) -> tuple[Probe, ...]:
    probes = {Probe(tool, CALL, tool) for tool in tools}
    for policy in policies:
        probes.update(Probe(r.pattern.text, r.action, r.pattern.sample()) for r in policy.rules)
    return tuple(sorted(probes))


def _lines(policy: Policy) -> set[str]:
    return {"p, " + ", ".join(r.values) for r in policy.rules} | {"g, " + ", ".join(g.values) for g in policy.links}


def diff_policies(old: Engine, new: Engine, tools: Iterable[str] = ()) -> PolicyDiff:
    subjects = tuple(sorted(set(old.policy.subjects()) | set(new.policy.subjects())))
    domains = tuple(sorted({DEFAULT_DOMAIN, *old.policy.domains(), *new.policy.domains()}))
    probes = probes_for((old.policy, new.policy), tools)
    changes: list[SubjectChange] = []
    for subject in subjects:
        for domain in domains:
            gains: list[Probe] = []
            loses: list[Probe] = []
            for probe in probes:
                before = old.decide_subjects((subject,), domain, probe.obj, probe.action).allowed
                after = new.decide_subjects((subject,), domain, probe.obj, probe.action).allowed
                if before != after:
                    (gains if after else loses).append(probe)
            if gains or loses:
                changes.append(SubjectChange(subject, domain, tuple(gains), tuple(loses)))
    old_lines, new_lines = _lines(old.policy), _lines(new.policy)
    return PolicyDiff(
        subjects,
        domains,
        probes,
        tuple(changes),
        tuple(sorted(new_lines - old_lines)),
        tuple(sorted(old_lines - new_lines)),
    )
