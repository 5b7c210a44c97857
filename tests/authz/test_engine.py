"""Decisions: deny-overrides across every subject a principal acts as, domains, role inheritance."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_gateway.authz.engine import MAX_CACHED_DECISIONS, NO_RULE, Decision, Engine
from mcp_gateway.sdk import Principal
from tests.authz.helpers import engine_for

POLICY = """
p, role:user, *, fs.*, call, allow
p, role:user, *, notes.*, call, allow
p, role:reader, *, fs.read_*, call, allow
p, role:reader, *, fs.write_file, call, deny
p, role:tenant-admin, tenant-a, *, call, allow
p, role:auditor, *, secret:audit_*, read, allow
p, alice, *, notes.get, call, allow
p, mallory, *, fs.*, call, deny
g, bob, role:user, *
g, carol, role:tenant-admin, tenant-a
g, role:senior, role:user, *
g, role:lead, role:senior, *
g, dave, role:lead, *
g, erin, role:reader, tenant-b
"""


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return engine_for(tmp_path, POLICY)


def allowed(engine: Engine, principal: Principal, obj: str, act: str = "call") -> bool:
    decision = engine.decide(principal, obj, act)
    assert decision == engine.decide_plain(principal, obj, act), "fast path and Casbin disagree"
    return decision.allowed


@pytest.mark.req("R-008")
def test_deny_by_default_names_no_rule(engine: Engine) -> None:
    assert engine.decide(Principal("nobody"), "fs.read_file", "call") == Decision(False, None, NO_RULE)


def test_an_allow_names_its_rule(engine: Engine) -> None:
    decision = engine.decide(Principal("x", ("user",)), "fs.read_file", "call")
    assert decision.allowed and decision.rule == ("role:user", "*", "fs.*", "call", "allow")
    assert decision.reason == "allowed by p, role:user, *, fs.*, call, allow"


def test_a_deny_from_any_role_overrides_every_allow(engine: Engine) -> None:
    assert allowed(engine, Principal("x", ("user",)), "fs.write_file")
    for roles in (("reader",), ("reader", "user"), ("user", "reader")):
        decision = engine.decide(Principal("x", roles), "fs.write_file", "call")
        assert not decision.allowed and decision.rule == ("role:reader", "*", "fs.write_file", "call", "deny")
    # and a deny on the principal's own name overrides its roles' allows
    assert not allowed(engine, Principal("mallory", ("user",)), "fs.read_file")


def test_roles_come_from_the_principal_and_from_role_assignments(engine: Engine) -> None:
    assert allowed(engine, Principal("x", ("user",)), "notes.put")
    assert allowed(engine, Principal("bob"), "notes.put")
    assert allowed(engine, Principal("alice"), "notes.get")
    assert not allowed(engine, Principal("alice"), "notes.put")


def test_roles_inherit_through_several_levels(engine: Engine) -> None:
    assert allowed(engine, Principal("dave"), "fs.write_file")  # dave -> lead -> senior -> user
    assert allowed(engine, Principal("x", ("lead",)), "notes.list")


def test_a_principal_named_like_a_role_does_not_hold_it(engine: Engine) -> None:
    assert not allowed(engine, Principal("user"), "fs.read_file")
    assert not engine.decide(Principal("role:user"), "fs.read_file", "call").allowed
    assert not engine.decide(Principal("x", ("role:user",)), "fs.read_file", "call").allowed


def test_domains_scope_rules_and_role_assignments(engine: Engine) -> None:
    assert allowed(engine, Principal("carol", domain="tenant-a"), "exec.run")
    assert not allowed(engine, Principal("carol", domain="tenant-b"), "exec.run")
    assert not allowed(engine, Principal("carol"), "exec.run")
    # a token role in tenant-a also meets the tenant-a rule; in another domain it does not
    assert allowed(engine, Principal("x", ("tenant-admin",), "tenant-a"), "fs.read_file")
    assert not allowed(engine, Principal("x", ("tenant-admin",), "tenant-b"), "fs.read_file")
    # erin is a reader in tenant-b only
    assert allowed(engine, Principal("erin", domain="tenant-b"), "fs.read_file")
    assert not allowed(engine, Principal("erin", domain="tenant-a"), "fs.read_file")
    # an assignment in domain * holds everywhere
    assert allowed(engine, Principal("bob", domain="tenant-z"), "fs.read_file")


def test_actions_are_distinct(engine: Engine) -> None:
    assert allowed(engine, Principal("x", ("auditor",)), "secret:audit_key", "read")
    assert not allowed(engine, Principal("x", ("auditor",)), "secret:audit_key", "call")
    assert not allowed(engine, Principal("x", ("auditor",)), "secret:db", "read")
    assert not allowed(engine, Principal("x", ("user",)), "fs.read_file", "read")


@pytest.mark.parametrize(
    "principal",
    [Principal(""), Principal("a b", ("user",)), Principal("x", ("user",), "*"), Principal("x", ("user",), "")],
)
def test_an_invalid_principal_or_domain_is_refused(engine: Engine, principal: Principal) -> None:
    decision = engine.decide(principal, "fs.read_file", "call")
    assert not decision.allowed and decision.rule is None
    assert decision == engine.decide_plain(principal, "fs.read_file", "call")


def test_invalid_roles_are_ignored(engine: Engine) -> None:
    assert allowed(engine, Principal("x", ("user", "bad role", "")), "fs.read_file")


def test_visible_keeps_the_callable_tools_in_order(engine: Engine) -> None:
    names = ["notes.put", "fs.write_file", "fs.read_file", "exec.run", "fs.read_file.evil"]
    assert engine.visible(Principal("x", ("reader",)), names) == ["fs.read_file"]
    assert engine.visible(Principal("x", ("user",)), names) == ["notes.put", "fs.write_file", "fs.read_file"]


def test_decisions_are_cached_per_request_and_bounded(engine: Engine) -> None:
    principal = Principal("x", ("user",))
    first = engine.decide(principal, "fs.read_file", "call")
    assert engine.decide(principal, "fs.read_file", "call") is first
    # the roles are part of the key: another role set is decided afresh
    assert not engine.decide(Principal("x", ("reader",)), "fs.write_file", "call").allowed
    for n in range(MAX_CACHED_DECISIONS + 10):
        engine.decide(principal, f"fs.t{n}", "call")
    assert 0 < engine.cache_size <= MAX_CACHED_DECISIONS
