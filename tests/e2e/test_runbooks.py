"""The runbooks in ops/runbooks are executed: their `bash` blocks run, in order, against a real
state dir prepared for each incident, and must succeed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_gateway.authz.config import DEFAULT_POLICY_DIR
from mcp_gateway.config import load_config
from mcp_gateway.testing import gateway_client
from tests.support import GATEWAY, write_config

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "ops" / "runbooks"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK" + "Q" * 60 + "\n-----END RSA PRIVATE KEY-----"


def _blocks(name: str) -> str:
    return "\n".join(re.findall(r"```bash\n(.*?)```", (RUNBOOKS / name).read_text(), re.S))


def _run_runbook(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = _blocks(name)
    assert script.strip(), f"{name} has no bash block"
    path = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env={**env, "PATH": path},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _cli(*args: str, env: dict[str, str], stdin: str = "") -> str:
    done = subprocess.run([*GATEWAY, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def site(tmp_path: Path, clean_env: dict[str, str]) -> dict[str, str]:
    """A gateway's state with a secret, a token and some audited calls, and its policy dir."""
    policy = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_DIR, policy)
    config = write_config(tmp_path / "g.toml", tmp_path / "state", f'\n[authz]\npolicy_dir = "{policy}"\n')
    env = {**clean_env, "CONFIG": str(config), "POLICY_DIR": str(policy)}
    _cli("secrets", "set", "API_KEY", "--config", str(config), env=env, stdin="value-of-the-api-key")
    return env


async def _calls(env: dict[str, str], *arguments: dict[str, str]) -> None:
    async with gateway_client(load_config(Path(env["CONFIG"]), {})) as (_, client):
        for args in arguments:
            await client.call_tool("notes__put", args)


@pytest.mark.req("R-036")
async def test_rotate_the_master_key(site: dict[str, str], tmp_path: Path) -> None:
    await _calls(site, {"key": "a", "text": "x"})
    done = _run_runbook("rotate-master-key.md", {**site, "BACKUP_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "API_KEY" in done.stdout and "ok: 1 records" in done.stdout


async def test_revoke_a_token(site: dict[str, str]) -> None:
    created = _cli(
        "token", "create", "--principal", "mallory", "--role", "user", "--json", "--config", site["CONFIG"], env=site
    )
    token_id = re.search(r'"id": "(\w+)"', created)
    assert token_id is not None
    env = {**site, "TOKEN_ID": token_id.group(1), "PRINCIPAL": "mallory", "SINCE": "2000-01-01"}
    done = _run_runbook("revoke-token.md", env)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_respond_to_a_dlp_block(site: dict[str, str]) -> None:
    await _calls(site, {"key": "k", "text": PRIVATE_KEY})  # blocked on the way in
    done = _run_runbook("dlp-block.md", {**site, "TOOL": "notes.put"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"PRIVATE_KEY"' in done.stdout or "PRIVATE_KEY" in done.stdout


async def test_roll_back_a_bad_policy(site: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "good-policy"
    shutil.copytree(site["POLICY_DIR"], good)
    with (Path(site["POLICY_DIR"]) / "policy.csv").open("a") as handle:
        handle.write("p, role:reader, *, notes.*, call, allow\n")  # grants too much
    done = _run_runbook("rollback-policy.md", {**site, "GOOD_POLICY_DIR": str(good)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "role:reader" in done.stdout  # the first diff showed what the bad change granted


async def test_recover_from_a_broken_audit_chain(site: dict[str, str], tmp_path: Path) -> None:
    await _calls(site, *({"key": f"k{i}", "text": "x"} for i in range(4)))
    log = next((tmp_path / "state" / "audit").glob("audit-*.jsonl"))
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join([lines[0], lines[2], lines[3]]))  # a record removed
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    done = _run_runbook("broken-audit-chain.md", {**site, "EVIDENCE_DIR": str(evidence)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"ok": false' in (evidence / "verify.json").read_text()
    assert "log_restarted" in done.stdout and (evidence / "audit-evidence.tar.gz").exists()
