"""`mcp-gateway policy check|explain|diff`, driven in-process through the real argument parser."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from mcp_gateway.authz.config import DEFAULT_POLICY_DIR
from mcp_gateway.cli import policy_cmd
from tests.authz.helpers import copy_default_policy

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mcp-gateway")
    policy_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    code: int = args.run(args)
    return code


def changed_policy(directory: Path, old: str, new: str) -> Path:
    copy_default_policy(directory)
    csv = directory / "policy.csv"
    assert old in csv.read_text()
    csv.write_text(csv.read_text().replace(old, new))
    return directory


def test_check_passes_on_the_default_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("policy", "check", "--policy-dir", str(ROOT / "policies")) == 0
    assert capsys.readouterr().out.startswith("policy ok: 19 rules, 0 role assignments, 41 tests passed")
    assert run("policy", "check", "--policy-dir", str(ROOT / "policies"), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["tests"] == 41 and len(report["digest"]) == 64


def test_check_uses_the_configured_policy_dir_by_default(
    config_file: Path, clean_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("policy", "check", "--config", str(config_file), "--json") == 0
    assert json.loads(capsys.readouterr().out)["policy_dir"] == str(DEFAULT_POLICY_DIR)


def test_check_fails_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = changed_policy(tmp_path, "p, role:reader, *, fs.stat, call, allow", "p, role:reader, *, fs.st*t, call, allow")
    line = (bad / "policy.csv").read_text().splitlines().index("p, role:reader, *, fs.st*t, call, allow") + 1
    assert run("policy", "check", "--policy-dir", str(bad)) == 1
    assert f"{bad / 'policy.csv'}:{line}: bad object pattern 'fs.st*t'" in capsys.readouterr().err
    assert run("policy", "check", "--policy-dir", str(bad), "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and f"policy.csv:{line}:" in report["error"]


def test_check_fails_when_a_policy_test_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = changed_policy(tmp_path, "p, role:reader, *, fs.write_file, call, deny", "# write deny removed")
    (bad / "policy.csv").write_text((bad / "policy.csv").read_text() + "p, role:reader, *, fs.*, call, allow\n")
    assert run("policy", "check", "--policy-dir", str(bad)) == 1
    assert "policy test failed: rex (roles reader) @ default: call fs.write_file" in capsys.readouterr().err


@pytest.mark.req("R-011")
def test_explain_gives_the_decision_and_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["policy", "explain", "--policy-dir", str(ROOT / "policies"), "--principal", "rex"]
    assert run(*argv, "--role", "reader", "--role", "user", "--tool", "fs.write_file") == 0
    text = capsys.readouterr().out
    assert text.startswith("DENY: rex with roles reader, user in domain default may not call fs.write_file")
    assert "because: denied by p, role:reader, *, fs.write_file, call, deny" in text
    assert "matched p, role:user, *, fs.*, call, allow" in text

    assert run(*argv, "--role", "user", "--tool", "fs.write_file", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["allowed"] is True and report["consistent_with_casbin"] is True
    assert report["rule"] == ["role:user", "*", "fs.*", "call", "allow"]
    assert [s["subject"] for s in report["subjects"]] == ["rex", "role:user"]

    assert run(*argv, "--tool", "secret:db_password", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["action"], report["allowed"], report["reason"]) == ("read", False, "no rule allows")


def test_explain_follows_role_assignments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = changed_policy(tmp_path, "# g, alice, role:admin, *", "g, alice, role:admin, *")
    assert run("policy", "explain", "--policy-dir", str(policy), "--principal", "alice", "--tool", "exec.run") == 0
    text = capsys.readouterr().out
    assert text.startswith("ALLOW: alice in domain default may call exec.run")
    assert "as alice (holds role:admin):" in text


def test_diff_shows_who_gains_and_loses_what(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = changed_policy(tmp_path, "p, role:user, *, notes.*, call, allow", "p, role:user, *, notes.get, call, allow")
    with (new / "policy.csv").open("a") as csv:
        csv.write("p, role:user, *, secret:db*, read, allow\ng, bob, role:reader, tenant-a\n")
    assert run("policy", "diff", str(DEFAULT_POLICY_DIR), str(new), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    changes = {(c["subject"], c["domain"]): c for c in report["changes"]}
    user = changes[("role:user", "default")]
    assert {"object": "secret:db*", "action": "read"} in user["gains"]
    assert {"object": "notes.*", "action": "call"} in user["loses"]
    assert {"object": "notes.get", "action": "call"} not in user["loses"]
    bob = changes[("bob", "tenant-a")]
    assert {"object": "fs.read_file", "action": "call"} in bob["gains"] and not bob["loses"]
    assert ("bob", "default") not in changes
    assert "g, bob, role:reader, tenant-a" in report["added_lines"]
    assert "p, role:user, *, notes.*, call, allow" in report["removed_lines"]


def test_diff_over_the_configured_tools(
    tmp_path: Path, config_file: Path, clean_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    new = changed_policy(tmp_path, "p, role:user, *, notes.*, call, allow", "p, role:user, *, notes.get, call, allow")
    assert (
        run("policy", "diff", str(DEFAULT_POLICY_DIR), str(new), "--tools-from-config", "--config", str(config_file))
        == 0
    )
    text = capsys.readouterr().out
    assert "role:user in domain default:\n" in text
    for lost in ("notes.put", "notes.delete", "notes.list", "notes.search", "notes.*"):
        assert f"  - {lost}\n" in text
    assert "  - notes.get\n" not in text


def test_diff_of_a_policy_with_itself_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("policy", "diff", str(DEFAULT_POLICY_DIR), str(ROOT / "policies")) == 0
    assert capsys.readouterr().out == "no effective change\n"


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        run("policy", "explain", "--tool", "fs.read_file")
    assert caught.value.code == 2


def test_check_runs_the_dlp_files_beside_the_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("policy", "check", "--policy-dir", str(ROOT / "policies"), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dlp"]["tests"] == 7 and "EMAIL_ADDRESS" in report["dlp"]["active"]
    bad = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", bad)
    text = (
        (bad / "dlp.yaml")
        .read_text()
        .replace("EMAIL_ADDRESS: {egress: pseudonymize}", "EMAIL_ADDRESS: {egress: allow}")
    )
    (bad / "dlp.yaml").write_text(text)
    assert run("policy", "check", "--policy-dir", str(bad)) == 1
    err = capsys.readouterr().err
    assert "dlp_tests.yaml: 1 DLP test(s) failed: case 0 (egress fs.read_file): expected" in err
