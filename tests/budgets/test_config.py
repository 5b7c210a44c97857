"""Which limits apply to whom: own entry, then the most generous role, then the default."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from mcp_gateway.budgets.config import BudgetConfig, GiB, Limits


def test_the_default_suits_a_single_user() -> None:
    assert BudgetConfig().limits_for("alice") == Limits(
        calls_per_minute=600, concurrent_calls=16, cost_units_per_day=100_000, result_bytes_per_day=GiB
    )


def test_limits_resolve_budget_by_budget() -> None:
    config = BudgetConfig.model_validate(
        tomllib.loads(
            """
            [default]
            calls_per_minute = 10
            [roles.reader]
            calls_per_minute = 5
            cost_units_per_day = 50
            [roles.analyst]
            calls_per_minute = 30
            result_bytes_per_day = "unlimited"
            [principals.alice]
            cost_units_per_day = 7
            """
        )
    )
    # A role that is the only one to set a budget may lower it below the default.
    reader = config.limits_for("rita", ["reader"])
    assert (reader.calls_per_minute, reader.cost_units_per_day, reader.concurrent_calls) == (5, 50, 16)
    # Two roles: the most generous value of each budget, unlimited beating any number.
    both = config.limits_for("bea", ["reader", "analyst"])
    assert (both.calls_per_minute, both.cost_units_per_day, both.result_bytes_per_day) == (30, 50, None)
    # The principal's own entry wins for the budgets it sets, and only those.
    alice = config.limits_for("alice", ["reader", "analyst"])
    assert (alice.cost_units_per_day, alice.calls_per_minute) == (7, 30)
    # Unknown roles are ignored; a principal with none of the configured roles gets the default.
    assert config.limits_for("zed", ["nobody"]) == config.default


@pytest.mark.parametrize(
    "raw",
    [
        {"default": {"calls_per_minute": "600"}},
        {"default": {"calls_per_minute": True}},
        {"default": {"calls_per_minute": -1}},
        {"default": {"calls_per_hour": 5}},
        {"roles": {"reader": {"cost_units_per_day": 1.5}}},
        {"burst": 3},
    ],
)
def test_mistakes_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        BudgetConfig.model_validate(raw)
