"""Format versions and `mcp-gateway migrate`: the gateway refuses old or unknown formats with a
message naming the command; a dry run changes nothing; a real run backs up, upgrades, and the
gateway then starts with its data intact."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from mcp_gateway.config import load_config
from mcp_gateway.testing import gateway_client
from tests.support import GATEWAY, write_config

pytestmark = pytest.mark.anyio


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GATEWAY, *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def _fingerprint(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def _set_user_version(path: Path, version: int) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {version}")


async def _make_legacy_state(tmp_path: Path) -> tuple[Path, Path]:
    state = tmp_path / "state"
    config = write_config(tmp_path / "g.toml", state)
    async with gateway_client(load_config(config, {})) as (_, client):
        assert not (await client.call_tool("notes__put", {"key": "kept", "text": "from before"})).is_error
    # Files as a gateway from before format versions left them: same layout, no version.
    _set_user_version(state / "cells" / "notes" / "notes.sqlite3", 0)
    _set_user_version(state / "budgets.sqlite3", 0)
    (state / "audit" / "FORMAT").unlink()
    (state / "upstream_pins.json").write_text(json.dumps({"pinned": {}, "pending": {}}))
    return state, config


@pytest.mark.req("R-038")
async def test_old_formats_are_refused_then_migrated(tmp_path: Path, clean_env: dict[str, str]) -> None:
    state, config = await _make_legacy_state(tmp_path)
    refused = _cli("serve", "--config", str(config), env=clean_env)
    assert refused.returncode == 2 and "mcp-gateway migrate" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr

    before = _fingerprint(state)
    dry = _cli("migrate", "--dry-run", "--config", str(config), env=clean_env)
    assert dry.returncode == 0, dry.stderr
    for name in ("notes database", "budget ledger", "audit log", "upstream pins"):
        assert f"{name} (" in dry.stdout and "format 0 -> 1" in dry.stdout
    assert _fingerprint(state) == before  # the dry run touched nothing

    backup = tmp_path / "before.tar.gz"
    done = _cli("migrate", "--backup", str(backup), "--config", str(config), env=clean_env)
    assert done.returncode == 0 and backup.exists(), done.stderr
    assert "nothing to do" in _cli("migrate", "--dry-run", "--config", str(config), env=clean_env).stdout
    async with gateway_client(load_config(config, {})) as (_, client):
        got = await client.call_tool("notes__get", {"key": "kept"})
    assert not got.is_error and "from before" in str(got.structured_content)
    assert _cli("audit", "verify", "--config", str(config), env=clean_env).returncode == 0


async def test_a_newer_format_is_refused_with_its_reason(tmp_path: Path, clean_env: dict[str, str]) -> None:
    state, config = await _make_legacy_state(tmp_path)
    _set_user_version(state / "budgets.sqlite3", 99)
    refused = _cli("migrate", "--dry-run", "--config", str(config), env=clean_env)
    assert refused.returncode == 2 and "newer than this gateway knows" in refused.stderr
