"""Budget configuration (gateway.toml `[budgets]`) and the rule that resolves a principal's limits.

    [budgets.default]                   # everyone, unless an entry below says otherwise
    calls_per_minute = 600
    [budgets.roles.reader]
    cost_units_per_day = 5000
    [budgets.principals."cell:relay"]   # cells are principals too (and all have the role "cell")
    concurrent_calls = 4
    result_bytes_per_day = "unlimited"

An entry names only the budgets it changes; TOML has no null, so "unlimited" stands for None.

The rule, budget by budget: the principal's own entry if it sets that budget; else the most
generous value among the entries of the principal's roles that set it (a principal holding two
roles gets what either would give it, the way Casbin role grants add up; unlimited beats any
number); else `default`. A role can therefore only lower a budget below the default when it is
the only role of the principal that sets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

UNLIMITED: Final = "unlimited"
GiB: Final = 1024**3

Amount = Annotated[int, Field(ge=0, strict=True)]
"""Strict: `calls_per_minute = true` or `"600"` in a TOML file is a mistake, not a number."""

LABELS: Final = {
    "calls_per_minute": "calls per minute",
    "concurrent_calls": "concurrent calls",
    "cost_units_per_day": "cost units per day",
    "result_bytes_per_day": "result bytes per day",
}


class Limits(BaseModel):
    """One entry of limits: None is unlimited; 0 allows nothing (no call, or no tool that costs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The field defaults are what a single user needs; they apply to `default` only, since
    # role and principal entries take only the budgets they set (see the module's rule).
    calls_per_minute: Amount | None = 600
    concurrent_calls: Amount | None = 16
    cost_units_per_day: Amount | None = 100_000
    result_bytes_per_day: Amount | None = GiB

    @field_validator("*", mode="before")
    @classmethod
    def _unlimited(cls, value: Any) -> Any:
        return None if value == UNLIMITED else value


def most_generous(values: Sequence[int | None]) -> int | None:
    numbers = [value for value in values if value is not None]
    return max(numbers) if len(numbers) == len(values) else None


class BudgetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    default: Limits = Field(default_factory=Limits)
    principals: dict[str, Limits] = Field(default_factory=dict)
    roles: dict[str, Limits] = Field(default_factory=dict)

    def limits_for(self, name: str, roles: Iterable[str] = ()) -> Limits:
        """The effective limits of principal `name` holding `roles` (the module's rule)."""
        own = self.principals.get(name)
        by_role = [self.roles[role] for role in roles if role in self.roles]
        values: dict[str, int | None] = {}
        for budget in LABELS:
            if own is not None and budget in own.model_fields_set:
                values[budget] = getattr(own, budget)
                continue
            granted = [getattr(entry, budget) for entry in by_role if budget in entry.model_fields_set]
            values[budget] = most_generous(granted) if granted else getattr(self.default, budget)
        return Limits.model_validate(values)
