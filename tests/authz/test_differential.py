"""The indexed fast path decides exactly like the plain Casbin enforcer (same answer, same rule).

Many generated policies (deny and allow rules, domains, role links in `*` and in domains, role
cycles, chains deeper than Casbin follows) and every request over a grid of subjects, domains,
objects (valid and confusable) and actions.
"""

from __future__ import annotations

import itertools
import random

import pytest

from mcp_gateway.authz.casbin_model import MAX_ROLE_DEPTH, CasbinEnforcer, parse_model
from mcp_gateway.authz.engine import Engine
from mcp_gateway.authz.policy_files import parse_policy
from mcp_gateway.sdk import Principal
from tests.authz.helpers import MODEL

USERS = ["u0", "u1", "u2", "cell:x"]
ROLES = [f"role:r{n}" for n in range(6)]
POLICY_DOMAINS = ["*", "*", "d1", "d2"]
PATTERNS = ["*", "a.*", "a.b*", "a.bc", "a.b", "b.*", "b.x", "secret:*", "secret:k*", "secret:k1"]
ACTIONS = ["call", "read"]
REQUEST_DOMAINS = ["d1", "d2", "d3", "*"]
OBJECTS = ["a.b", "a.bc", "a.bcd", "b.x", "c.z", "secret:k1", "secret:k2", "secret:z"]
CONFUSABLE = ["a.b.c", "A.b", "a.b ", "a..b", "secret:", "secret:k1/x", "a.\u0432"]


def engine_of(text: str) -> Engine:
    policy = parse_policy(text, "generated.csv")
    return Engine(policy, CasbinEnforcer(parse_model(MODEL, "model.conf"), policy))


def generated_policy(rng: random.Random) -> str:
    rules = {
        (
            rng.choice(USERS + ROLES + ROLES),
            rng.choice(POLICY_DOMAINS),
            rng.choice(PATTERNS),
            rng.choice(ACTIONS),
            "deny" if rng.random() < 0.25 else "allow",
        )
        for _ in range(rng.randrange(0, 40))
    }
    links = {
        (rng.choice(USERS + ROLES), rng.choice(ROLES), rng.choice(POLICY_DOMAINS)) for _ in range(rng.randrange(0, 20))
    }
    lines = [f"p, {', '.join(rule)}" for rule in rules] + [f"g, {', '.join(link)}" for link in links]
    rng.shuffle(lines)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(30))
def test_fast_path_equals_casbin_for_every_subject(seed: int) -> None:
    engine = engine_of(generated_policy(random.Random(seed)))
    for subject, domain, obj, act in itertools.product(
        USERS + ROLES + ["nobody"], REQUEST_DOMAINS, OBJECTS + CONFUSABLE, ACTIONS
    ):
        fast = engine.index.evaluate(subject, domain, obj, act)
        plain = engine.enforcer.evaluate(subject, domain, obj, act)
        assert fast == plain, (subject, domain, obj, act)


@pytest.mark.parametrize("seed", range(10))
def test_fast_path_equals_casbin_for_principals_with_roles(seed: int) -> None:
    rng = random.Random(1000 + seed)
    engine = engine_of(generated_policy(rng))
    for _ in range(300):
        roles = tuple(r.removeprefix("role:") for r in rng.sample(ROLES, rng.randrange(0, 3)))
        principal = Principal(rng.choice(USERS), roles, rng.choice(REQUEST_DOMAINS[:3]))
        obj, act = rng.choice(OBJECTS + CONFUSABLE), rng.choice(ACTIONS)
        assert engine.decide_uncached(principal, obj, act) == engine.decide_plain(principal, obj, act)


def test_role_chains_are_followed_exactly_as_deep_as_casbin_follows_them() -> None:
    depth = MAX_ROLE_DEPTH + 3
    chain = [f"g, role:c{n}, role:c{n + 1}, *" for n in range(depth)]
    rules = [f"p, role:c{n}, *, t.n{n}, call, allow" for n in range(depth + 1)]
    engine = engine_of("\n".join(chain + rules + ["g, role:c3, role:c0, *"]) + "\n")  # and a cycle
    reached = [n for n in range(depth + 1) if engine.index.evaluate("role:c0", "d", f"t.n{n}", "call")[0]]
    assert reached == list(range(MAX_ROLE_DEPTH))
    for n in range(depth + 1):
        assert engine.index.evaluate("role:c0", "d", f"t.n{n}", "call") == engine.enforcer.evaluate(
            "role:c0", "d", f"t.n{n}", "call"
        )
