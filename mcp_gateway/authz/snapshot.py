"""A policy snapshot: one whole, tested policy, never changed once built.

`load_snapshot` reads the three files once, validates the model and every line, builds a new
enforcer and index, and runs the policy's own tests; only then does a snapshot exist. A reload
builds another snapshot and swaps it in with one assignment, so a decision is always taken by a
whole policy, and a decision in progress keeps the snapshot it started with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mcp_gateway.authz.casbin_model import CasbinEnforcer, parse_model
from mcp_gateway.authz.engine import Decision, Engine
from mcp_gateway.authz.policy_files import (
    MODEL_FILE,
    POLICY_FILE,
    TESTS_FILE,
    PolicyFiles,
    parse_policy,
    read_policy_files,
)
from mcp_gateway.authz.policytests import parse_cases, run_cases
from mcp_gateway.sdk import Principal


@dataclass(frozen=True, slots=True)
class PolicySnapshot:
    engine: Engine
    directory: Path
    digest: str
    loaded_at: datetime
    tests: int
    """How many policy tests this snapshot passed."""

    def decide(self, principal: Principal, obj: str, act: str) -> Decision:
        return self.engine.decide(principal, obj, act)

    def visible(self, principal: Principal, canonical_names: Iterable[str]) -> list[str]:
        return self.engine.visible(principal, canonical_names)

    def summary(self) -> dict[str, object]:
        return {
            "policy_dir": str(self.directory),
            "digest": self.digest,
            "loaded_at": self.loaded_at.isoformat(timespec="seconds"),
            "rules": len(self.engine.policy.rules),
            "links": len(self.engine.policy.links),
            "tests": self.tests,
        }


def build_snapshot(files: PolicyFiles, *, run_tests: bool = True) -> PolicySnapshot:
    """Build and test a snapshot from files already read; raises `PolicyError` on any problem."""
    model = parse_model(files.model_text, files.path(MODEL_FILE))
    policy = parse_policy(files.policy_text, files.path(POLICY_FILE))
    cases = parse_cases(files.tests_text, files.path(TESTS_FILE))
    engine = Engine(policy, CasbinEnforcer(model, policy))
    if run_tests:
        run_cases(engine, cases, files.path(TESTS_FILE))
    return PolicySnapshot(engine, files.directory, files.digest, datetime.now(UTC), len(cases) if run_tests else 0)


def load_snapshot(directory: Path, *, run_tests: bool = True) -> PolicySnapshot:
    return build_snapshot(read_policy_files(directory), run_tests=run_tests)
