"""`mcp-gateway token create|list|revoke`, driven in-process through its own argparse wiring."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mcp_gateway.cli import token_cmd
from mcp_gateway.identity.tokens import TokenStore
from mcp_gateway.sdk import Principal

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def run(config_file: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mcp-gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    token_cmd.register(commands)
    action, *rest = argv
    args = parser.parse_args(["token", action, "--config", str(config_file), *rest])
    code: int = args.run(args)
    return code


@pytest.fixture(autouse=True)
def _clean(clean_env: dict[str, str]) -> None:
    """No MCP_GATEWAY_* variable of the developer's own reaches the command."""


def test_create_prints_the_token_once_and_it_works(
    config_file: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_file, "create", "--principal", "alice", "--role", "reader", "--role", "writer") == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("mgw_") and "\n" not in token
    assert "cannot be shown again" in err and token not in err
    store = TokenStore(state_dir / "tokens.json")
    assert store.verify(token) == Principal("alice", ("reader", "writer"))
    assert token.split("_", 2)[2] not in (state_dir / "tokens.json").read_text()


def test_a_token_expires_in_90_days_unless_told_otherwise(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_file, "create", "--principal", "bob", "--json") == 0
    default = json.loads(capsys.readouterr().out)
    lifetime = datetime.fromisoformat(default["expires_at"]) - datetime.fromisoformat(default["created_at"])
    assert abs(lifetime - timedelta(days=90)) < timedelta(minutes=1)
    assert run(config_file, "create", "--principal", "bob", "--expires", "never", "--json") == 0
    assert json.loads(capsys.readouterr().out)["expires_at"] is None


def test_create_json_list_and_revoke(config_file: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config_file, "create", "--principal", "bob", "--domain", "acme", "--expires", "30d", "--json") == 0
    created = json.loads(capsys.readouterr().out)
    assert created["token"].startswith(f"mgw_{created['id']}_")
    assert created["principal"] == "bob" and created["domain"] == "acme" and created["status"] == "active"
    lifetime = datetime.fromisoformat(created["expires_at"]) - datetime.fromisoformat(created["created_at"])
    assert abs(lifetime - timedelta(days=30)) < timedelta(minutes=1)

    assert run(config_file, "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in listed] == [created["id"]]
    assert "token" not in listed[0] and "sha256" not in listed[0]

    assert run(config_file, "list") == 0
    table = capsys.readouterr().out
    assert created["id"] in table and "bob" in table and "active" in table
    assert created["token"] not in table

    assert run(config_file, "revoke", created["id"]) == 0
    assert TokenStore(state_dir / "tokens.json").verify(created["token"]) is None
    capsys.readouterr()
    assert run(config_file, "list") == 0
    assert "revoked" in capsys.readouterr().out


def test_revoking_an_unknown_id_fails(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config_file, "revoke", "0123456789ab") == 1
    assert "no token" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ("--expires", "soon"),
        ("--expires", "0d"),
        ("--expires", "2001-01-01"),
        ("--role", "bad role"),
        ("--domain", "a,b"),
    ],
)
def test_usage_errors_exit_2_and_store_nothing(
    config_file: Path, state_dir: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    assert run(config_file, "create", "--principal", "alice", *argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "mcp-gateway:" in err
    assert not (state_dir / "tokens.json").exists()


def test_reserved_principals_are_refused(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config_file, "create", "--principal", "cell:fs") == 2
    assert "reserved" in capsys.readouterr().err


def test_a_corrupt_store_is_reported(config_file: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (state_dir / "tokens.json").write_text("{")
    (state_dir / "tokens.json").chmod(0o600)
    assert run(config_file, "list") == 2
    assert str(state_dir / "tokens.json") in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW + timedelta(minutes=30)),
        ("12h", NOW + timedelta(hours=12)),
        ("30d", NOW + timedelta(days=30)),
        ("4w", NOW + timedelta(weeks=4)),
        ("2026-12-31", datetime(2026, 12, 31, tzinfo=UTC)),
        ("2026-12-31T00:00:00Z", datetime(2026, 12, 31, tzinfo=UTC)),
        ("2026-12-31T02:00:00+02:00", datetime(2026, 12, 31, tzinfo=UTC)),
    ],
)
def test_parse_expires(text: str, expected: datetime) -> None:
    assert token_cmd.parse_expires(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "-1d", "1y", "1.5h", "2026-06-01T11:00:00Z", "tomorrow"])
def test_parse_expires_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        token_cmd.parse_expires(text, NOW)
