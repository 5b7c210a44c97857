"""`dlp.yaml`: which entities are looked for and what happens to each, per direction.

    entities:                      # the explicit list: nothing else is looked for
      EMAIL_ADDRESS: {egress: pseudonymize}
      PHONE_NUMBER:  {min_score: 0.4, egress: mask}
    defaults: {min_score: 0.5, ingress: allow, egress: redact}
    tools:                         # per canonical tool pattern (anchored, as in policy.csv)
      notes.*: {ingress: {CREDIT_CARD: block}}
    roles:                         # per role
      support: {egress: {EMAIL_ADDRESS: allow}}

Ingress is a call's arguments on their way to the tool; egress is the tool's result on its way
back. Where several rules apply to one finding, the more specific kind wins (a role's rule over
a tool's, a tool's over the entity's own, that over the defaults); among several rules of the
same kind (two roles, two tool patterns), the strictest action wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import IntEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mcp_gateway.authz.patterns import ObjectPattern, compile_pattern
from mcp_gateway.errors import ConfigError

Direction = Literal["ingress", "egress"]
ENTITY_NAME = r"^[A-Z][A-Z0-9_]{1,63}$"


class Action(IntEnum):
    """Ordered from least to most strict: the order decides between conflicting rules."""

    allow = 0
    mask = 1
    pseudonymize = 2
    hash = 3
    redact = 4
    block = 5


ActionName = Literal["allow", "mask", "pseudonymize", "hash", "redact", "block"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntityRule(_Strict):
    min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    ingress: ActionName | None = None
    egress: ActionName | None = None


class Defaults(_Strict):
    min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    ingress: ActionName = "allow"
    egress: ActionName = "redact"


class Overrides(_Strict):
    ingress: dict[str, ActionName] = Field(default_factory=dict)
    egress: dict[str, ActionName] = Field(default_factory=dict)


class MaskRule(_Strict):
    char: str = Field(default="*", min_length=1, max_length=1)
    keep_last: int = Field(default=4, ge=0, le=16)


class PolicyDocument(_Strict):
    version: Literal[1] = 1
    entities: dict[str, EntityRule] = Field(min_length=1)
    defaults: Defaults = Field(default_factory=Defaults)
    tools: dict[str, Overrides] = Field(default_factory=dict)
    roles: dict[str, Overrides] = Field(default_factory=dict)
    mask: MaskRule = Field(default_factory=MaskRule)

    @field_validator("entities")
    @classmethod
    def _entity_names(cls, value: dict[str, EntityRule]) -> dict[str, EntityRule]:

        bad = [name for name in value if not re.fullmatch(ENTITY_NAME, name)]
        if bad:
            raise ValueError(f"entity names are UPPER_SNAKE_CASE: {', '.join(map(repr, bad))}")
        return value


class DlpPolicy:
    """A loaded, validated dlp.yaml, with fast lookups of the action for a finding."""

    def __init__(self, document: PolicyDocument, source: str) -> None:
        self.document, self.source = document, source
        self.entities = tuple(document.entities)
        unknown = {
            name
            for overrides in (*document.tools.values(), *document.roles.values())
            for name in (*overrides.ingress, *overrides.egress)
            if name not in document.entities
        }
        if unknown:
            raise ConfigError(source, "tools/roles", f"rules for entities not in `entities`: {sorted(unknown)}")
        try:
            self._tools: list[tuple[ObjectPattern, Overrides]] = [
                (compile_pattern(pattern), rules) for pattern, rules in document.tools.items()
            ]
        except ValueError as exc:
            raise ConfigError(source, "tools", str(exc)) from None
        self._memo: dict[tuple[str, tuple[str, ...], Direction], dict[str, Action]] = {}

    def min_score(self, entity: str) -> float:
        rule = self.document.entities.get(entity)
        if rule is not None and rule.min_score is not None:
            return rule.min_score
        return self.document.defaults.min_score

    def actions(self, tool: str, roles: tuple[str, ...], direction: Direction) -> Mapping[str, Action]:
        """Entity -> action for one tool, one set of roles, one direction (memoised)."""
        key = (tool, roles, direction)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) > 4096:
                self._memo.clear()
            found = self._memo[key] = {entity: self._decide(entity, tool, roles, direction) for entity in self.entities}
        return found

    def _decide(self, entity: str, tool: str, roles: tuple[str, ...], direction: Direction) -> Action:
        by_role = [
            rules.ingress if direction == "ingress" else rules.egress
            for role, rules in self.document.roles.items()
            if role in roles
        ]
        chosen = _strictest(rules.get(entity) for rules in by_role)
        if chosen is not None:
            return chosen
        by_tool = [
            rules.ingress if direction == "ingress" else rules.egress
            for pattern, rules in self._tools
            if pattern.matches(tool)
        ]
        chosen = _strictest(rules.get(entity) for rules in by_tool)
        if chosen is not None:
            return chosen
        own = getattr(self.document.entities[entity], direction)
        return Action[own if own is not None else getattr(self.document.defaults, direction)]


def _strictest(names: Any) -> Action | None:
    actions = [Action[name] for name in names if name is not None]
    return max(actions) if actions else None


def _read_yaml(path: Path) -> Any:
    source = str(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(source, "", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, "", f"cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, "", f"is not valid YAML ({exc})") from None


def load_policy(path: Path) -> DlpPolicy:
    """Read and validate dlp.yaml; any problem is a `ConfigError` naming the file and the key."""
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "", "must be a mapping with an `entities` key")
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise ConfigError(str(path), key, error["msg"]) from None
    return DlpPolicy(document, str(path))


def load_registry_yaml(path: Path) -> dict[str, Any]:
    """Read Presidio's recognizer-registry YAML; Presidio itself falls back to its defaults on a
    file it cannot parse, which would silently change what is looked for, so we read it first."""
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("recognizers"), list):
        raise ConfigError(str(path), "recognizers", "must be a mapping with a `recognizers` list")
    return raw
