"""Every line of a policy is checked at load; a bad one names its file and line, and nothing loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_gateway.authz.errors import PolicyError
from mcp_gateway.authz.snapshot import load_snapshot
from tests.authz.helpers import MODEL, write_policy

GOOD = "p, role:user, *, fs.*, call, allow\n"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("p, role:user, *, fs.read_*x, call, allow", "bad object pattern"),
        ("p, role:user, *, fs.read_file.evil, call, allow", "bad object pattern"),
        ("p, role:user, *, fs.*, call, maybe", "bad effect"),
        ("p, role:user, *, fs.*, call", "5 values"),
        ("p, role:user, *, fs.*, call, allow, extra", "5 values"),
        ("p, role:user, *, fs.*, Call, allow", "bad action"),
        ("p, role:, *, fs.*, call, allow", "bad subject"),
        ("p, al ice, *, fs.*, call, allow", "bad subject"),
        ("p, role:user, t/x, fs.*, call, allow", "bad domain"),
        ('p, "role:user", *, fs.*, call, allow', "bad subject"),
        ("g, alice, admin, *", "bad role"),
        ("g, alice, role:admin", "3 values"),
        ("p2, role:user, *, fs.*, call, allow", "starts with 'p' or 'g'"),
        ("p, role:user, *, fs.*, call, allow", "duplicate of line 1"),
        ("p, role:user, *, fs.*, call, allow # comment", "bad effect"),
    ],
)
def test_a_bad_line_fails_the_load_with_its_line_number(tmp_path: Path, line: str, message: str) -> None:
    directory = write_policy(tmp_path, GOOD + "# a comment\n\n" + line + "\n")
    with pytest.raises(PolicyError, match=message) as caught:
        load_snapshot(directory)
    assert caught.value.line == 4
    assert caught.value.file == str(directory / "policy.csv")
    assert str(caught.value).startswith(f"{directory / 'policy.csv'}:4: ")


def test_a_missing_file_fails_the_load(tmp_path: Path) -> None:
    directory = write_policy(tmp_path, GOOD)
    (directory / "policy_tests.yaml").unlink()
    with pytest.raises(PolicyError, match="no such file"):
        load_snapshot(directory)


def test_a_file_that_is_not_utf8_fails_the_load(tmp_path: Path) -> None:
    directory = write_policy(tmp_path, GOOD)
    (directory / "policy.csv").write_bytes(b"p, role:\xff, *, fs.*, call, allow\n")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_snapshot(directory)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("objMatch(r.obj, p.obj)", "globMatch(r.obj, p.obj)"), r"\[m\] m must be"),
        (("!some(where (p.eft == deny))", "true"), r"\[e\] e must be"),
        (("[role_definition]\ng = _, _, _\n", "[role_definition]\ng = _, _, _\ng2 = _, _\n"), "unexpected"),
        (("[matchers]", "[not a section"), "not a Casbin model|must be"),
    ],
)
def test_only_the_bundled_model_is_accepted(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in MODEL
    directory = write_policy(tmp_path, GOOD, model=MODEL.replace(*change))
    with pytest.raises(PolicyError, match=message) as caught:
        load_snapshot(directory)
    assert caught.value.file.endswith("model.conf")


def test_the_model_may_be_reformatted(tmp_path: Path) -> None:
    spaced = MODEL.replace("r = sub, dom, obj, act", "r = sub,dom,  obj, act").replace("# ", "#  ")
    assert load_snapshot(write_policy(tmp_path, GOOD, model=spaced)).engine.policy.rules


@pytest.mark.parametrize(
    ("tests", "message", "line"),
    [
        ("- {subject: a, domain: default, object: fs.x, action: call, expected: maybe}\n", "expected", 1),
        ("\n- {subject: a, domain: default, object: fs.x, action: call, expected: deny, extra: 1}\n", "extra", 2),
        ("- {subject: a, object: fs.x, action: call, expected: deny}\n", "domain", 1),
        ("- {subject: 7, domain: default, object: fs.x, action: call, expected: deny}\n", "subject", 1),
        ("subject: a\n", "a list", 0),
        ("- [unclosed\n", "not valid YAML", 2),
    ],
)
def test_a_bad_test_case_fails_the_load(tmp_path: Path, tests: str, message: str, line: int) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        load_snapshot(write_policy(tmp_path, GOOD, tests))
    assert caught.value.file.endswith("policy_tests.yaml")
    assert caught.value.line == line


def test_a_failing_policy_test_fails_the_load_and_says_why(tmp_path: Path) -> None:
    tests = "- {subject: u, roles: [user], domain: default, object: fs.read_file, action: call, expected: deny}\n"
    with pytest.raises(PolicyError, match=r"expected deny, got allow \(allowed by p, role:user") as caught:
        load_snapshot(write_policy(tmp_path, GOOD, tests))
    assert caught.value.line == 1
