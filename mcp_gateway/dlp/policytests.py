"""dlp_tests.yaml: what must happen to given text, checked before a DLP policy goes live.

    - text: "Write to dana@example.org"
      direction: egress          # ingress (arguments) or egress (results); default egress
      tool: fs.read_file         # default fs.read_file
      roles: [user]              # default none
      expect: {EMAIL_ADDRESS: pseudonymize}

`expect` is exact: the entities found (after min_score and the generic-inside-specific rule)
must be exactly its keys, each with its action. A case with `expect: {}` asserts that nothing
is found. A changed dlp.yaml or presidio.yaml goes live only if every case passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_gateway.dlp.model import Leaf, Scanner
from mcp_gateway.dlp.policy import ActionName, Direction, DlpPolicy
from mcp_gateway.dlp.settle import settle
from mcp_gateway.errors import ConfigError


class DlpCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1)
    direction: Direction = "egress"
    tool: str = "fs.read_file"
    roles: tuple[str, ...] = ()
    expect: dict[str, ActionName] = Field(default_factory=dict)


def load_cases(path: Path) -> list[DlpCase]:
    """The cases in `path`; none when the file does not exist (it is optional)."""
    if not path.is_file():
        return []
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(str(path), "", f"cannot be read as YAML ({exc})") from None
    if not isinstance(raw, list):
        raise ConfigError(str(path), "", "must be a list of cases")
    cases = []
    for number, item in enumerate(raw):
        try:
            cases.append(DlpCase.model_validate(item))
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(part) for part in (number, *error["loc"]))
            raise ConfigError(str(path), key, error["msg"]) from None
    return cases


def failures(cases: Sequence[DlpCase], policy: DlpPolicy, scanner: Scanner) -> list[str]:
    """One line per failing case (empty when all pass); never more text than the case's own."""
    out = []
    for number, case in enumerate(cases):
        findings = settle(scanner.scan([Leaf("$", case.text)]), policy.min_score)
        actions = policy.actions(case.tool, case.roles, case.direction)
        got = {f.entity: actions[f.entity].name for f in findings if f.entity in actions}
        if got != case.expect:
            out.append(f"case {number} ({case.direction} {case.tool}): expected {case.expect}, got {got}")
    return out
