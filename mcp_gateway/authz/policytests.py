"""A policy's own tests (`policy_tests.yaml`): a policy is accepted only if every one passes.

The file is a list of cases::

    - subject: alice
      roles: [reader]          # optional: the roles a token would carry
      domain: default
      object: fs.write_file
      action: call
      expected: deny

Each case is decided twice, by the indexed fast path that serves traffic and by the plain Casbin
enforcer; the two must agree as well as match `expected`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_gateway.authz.engine import Engine
from mcp_gateway.authz.errors import PolicyError
from mcp_gateway.sdk import Principal


class PolicyCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(min_length=1)
    roles: tuple[str, ...] = ()
    domain: str = Field(min_length=1)
    object: str = Field(min_length=1)
    action: str = Field(min_length=1)
    expected: Literal["allow", "deny"]

    @property
    def principal(self) -> Principal:
        return Principal(self.subject, self.roles, self.domain)

    def describe(self) -> str:
        roles = f" (roles {', '.join(self.roles)})" if self.roles else ""
        return f"{self.subject}{roles} @ {self.domain}: {self.action} {self.object}"


@dataclass(frozen=True, slots=True)
class NumberedCase:
    line: int
    case: PolicyCase


def parse_cases(text: str, file: str) -> list[NumberedCase]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise PolicyError(f"not valid YAML ({getattr(exc, 'problem', None) or exc})", file=file, line=line) from None
    if data is None:
        return []
    if not isinstance(data, list) or not isinstance(root, yaml.SequenceNode):
        raise PolicyError("expected a list of test cases", file=file)
    cases: list[NumberedCase] = []
    for node, item in zip(root.value, data, strict=True):
        line = node.start_mark.line + 1
        try:
            cases.append(NumberedCase(line, PolicyCase.model_validate(item)))
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in error["loc"]) or "(case)"
            raise PolicyError(f"bad test case: {where}: {error['msg']}", file=file, line=line) from None
    return cases


def run_cases(engine: Engine, cases: list[NumberedCase], file: str) -> None:
    """Raise `PolicyError` at the first case that fails, naming the case and the deciding rule."""
    for numbered in cases:
        case = numbered.case
        decision = engine.decide_uncached(case.principal, case.object, case.action)
        reference = engine.decide_plain(case.principal, case.object, case.action)
        if decision != reference:
            raise PolicyError(
                f"the engine and the plain Casbin enforcer disagree on {case.describe()}: "
                f"{decision.reason} / {reference.reason}",
                file=file,
                line=numbered.line,
            )
        got = "allow" if decision.allowed else "deny"
        if got != case.expected:
            raise PolicyError(
                f"policy test failed: {case.describe()}: expected {case.expected}, got {got} ({decision.reason})",
                file=file,
                line=numbered.line,
            )
