"""Backup and restore: a state dir restored into a fresh directory verifies its audit chain,
reads its secrets back (with the master key given separately) and keeps its notes."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from mcp_gateway.config import load_config
from mcp_gateway.secrets.wiring import open_store
from mcp_gateway.testing import gateway_client
from tests.support import GATEWAY, write_config

pytestmark = pytest.mark.anyio
VALUE = "s3cr3t-value-for-the-backup-test"


def _cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env, check=False
    )


@pytest.mark.req("R-035")
async def test_a_restored_state_dir_verifies_and_reads_its_secrets(tmp_path: Path, clean_env: dict[str, str]) -> None:
    old_state, new_state = tmp_path / "old", tmp_path / "new"
    old_config = write_config(tmp_path / "old.toml", old_state)
    stored = _cli("secrets", "set", "DB_PASSWORD", "--config", str(old_config), env=clean_env, stdin=VALUE)
    assert stored.returncode == 0
    async with gateway_client(load_config(old_config, {})) as (_, client):
        for index in range(3):
            assert not (await client.call_tool("notes__put", {"key": f"n{index}", "text": "kept"})).is_error
    archive = tmp_path / "backup.tar.gz"
    made = _cli("backup", "create", "--output", str(archive), "--config", str(old_config), env=clean_env)
    assert made.returncode == 0, made.stderr
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(archive) as opened:
        names = set(opened.getnames())
    assert "master.key" not in names and "secrets/DB_PASSWORD.json" in names and "audit/audit-000001.jsonl" in names
    assert all(VALUE not in member for member in names)

    new_config = write_config(tmp_path / "new.toml", new_state, '\n[secrets]\nkey_sources = ["env"]\n')
    restored = _cli("backup", "restore", str(archive), "--config", str(new_config), env=clean_env)
    assert restored.returncode == 0, restored.stderr
    key_env = {**clean_env, "MCP_GATEWAY_MASTER_KEY": (old_state / "master.key").read_text().strip()}
    verified = _cli("audit", "verify", "--config", str(new_config), env=key_env)
    assert verified.returncode == 0 and "ok: 3 records" in verified.stdout, verified.stdout + verified.stderr
    assert open_store(load_config(new_config, {}), key_env).get("DB_PASSWORD") == VALUE
    assert oct(new_state.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in new_state.rglob("*") if p.is_file())

    again = _cli("backup", "restore", str(archive), "--config", str(new_config), env=clean_env)
    assert again.returncode == 2 and "not empty" in again.stderr


def test_a_damaged_or_hostile_archive_is_refused(tmp_path: Path, clean_env: dict[str, str]) -> None:
    config = write_config(tmp_path / "g.toml", tmp_path / "state")
    assert _cli("secrets", "set", "X", "--config", str(config), env=clean_env, stdin="value-x").returncode == 0
    archive = tmp_path / "b.tar.gz"
    assert _cli("backup", "create", "-o", str(archive), "--config", str(config), env=clean_env).returncode == 0
    hostile = tmp_path / "hostile.tar.gz"
    with tarfile.open(hostile, "w:gz") as out:
        out.add(config, arcname="../escape.toml")
    for bad in (hostile, tmp_path / "g.toml"):
        refused = _cli("backup", "restore", str(bad), "--state-dir", str(tmp_path / "fresh"), env=clean_env)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert not (tmp_path / "escape.toml").exists()
