"""The shipped policy: its tests as data, and the admin-facing copy identical to the bundled one."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_gateway.authz.config import DEFAULT_POLICY_DIR, AuthzConfig, resolve_policy_dir
from mcp_gateway.authz.policy_files import POLICY_FILES
from mcp_gateway.authz.policytests import NumberedCase, parse_cases
from mcp_gateway.authz.snapshot import PolicySnapshot, load_snapshot
from mcp_gateway.sdk import Principal

ROOT = Path(__file__).resolve().parents[2]
TESTS_FILE = ROOT / "policies" / "policy_tests.yaml"
CASES = parse_cases(TESTS_FILE.read_text(), str(TESTS_FILE))


@pytest.fixture(scope="module")
def snapshot() -> PolicySnapshot:
    return load_snapshot(ROOT / "policies")


@pytest.mark.parametrize("numbered", CASES, ids=lambda n: f"line{n.line}")
def test_policy_case(snapshot: PolicySnapshot, numbered: NumberedCase) -> None:
    case = numbered.case
    decision = snapshot.decide(case.principal, case.object, case.action)
    assert ("allow" if decision.allowed else "deny") == case.expected, decision.reason
    assert decision == snapshot.engine.decide_plain(case.principal, case.object, case.action)


@pytest.mark.parametrize("name", POLICY_FILES)
def test_the_admin_copy_is_the_bundled_default(name: str) -> None:
    assert (ROOT / "policies" / name).read_bytes() == (DEFAULT_POLICY_DIR / name).read_bytes()


def test_the_default_policy_dir_is_the_bundled_one_unless_configured(tmp_path: Path) -> None:
    assert resolve_policy_dir(AuthzConfig()) == DEFAULT_POLICY_DIR
    assert resolve_policy_dir(AuthzConfig(policy_dir=tmp_path)) == tmp_path
    assert load_snapshot(DEFAULT_POLICY_DIR).tests == len(CASES)


@pytest.mark.req("R-009")
def test_the_stdio_user_sees_every_default_tool_and_a_reader_only_what_it_may_read(snapshot: PolicySnapshot) -> None:
    tools = [
        "fs.list_dir", "fs.read_file", "fs.search", "fs.stat", "fs.write_file",
        "gateway.tools", "gateway.version", "gateway.whoami",
        "notes.delete", "notes.get", "notes.list", "notes.put", "notes.search",
    ]  # fmt: skip
    assert snapshot.visible(Principal("me", ("local",)), tools) == tools
    assert snapshot.visible(Principal("rex", ("reader",)), tools) == [
        "fs.list_dir", "fs.read_file", "fs.search", "fs.stat",
        "gateway.tools", "gateway.version", "gateway.whoami",
        "notes.get", "notes.list", "notes.search",
    ]  # fmt: skip
    assert snapshot.visible(Principal("anonymous"), tools) == []
