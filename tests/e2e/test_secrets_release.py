"""A secret used without reaching the model: `http.fetch` sends it to an allow-listed host; the
policy decides its release, the audit records it before the value moves, and DLP withholds the
value when the server echoes it back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mcp_gateway.audit.access import audit_paths
from mcp_gateway.audit.query import records
from mcp_gateway.config import load_config
from mcp_gateway.testing import gateway_client
from tests.support import GATEWAY, write_config, write_policy

pytestmark = pytest.mark.anyio
TOKEN = "tok-5f1e8a0c9b7d4e2fa3c6b1d0e9f8a7b6"


def _setup(tmp_path: Path, state_dir: Path, port: int) -> Path:
    policy = write_policy(tmp_path / "policy", "p, cell:http, *, secret:API_TOKEN, read, allow")
    hosts = (
        f'[[cells.settings.hosts]]\nhost = "127.0.0.1"\nschemes = ["http"]\nports = [{port}]\n'
        'auth_secret = "API_TOKEN"\n'
    )
    extra = f'\n[authz]\npolicy_dir = "{policy}"\n\n[[cells]]\nmodule = "cells.http"\n[cells.settings]\n{hosts}'
    file = write_config(tmp_path / "g.toml", state_dir, extra)
    stored = subprocess.run(
        [*GATEWAY, "secrets", "set", "API_TOKEN", "--config", str(file)],
        input=TOKEN + "\n", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    assert TOKEN not in stored.stdout + stored.stderr
    return file


@pytest.mark.req("R-025")
async def test_the_secret_reaches_the_host_but_never_the_model(tmp_path: Path, state_dir: Path, echo_port: int) -> None:
    config = load_config(_setup(tmp_path, state_dir, echo_port), {})
    async with gateway_client(config) as (_, client):
        result = await client.call_tool("http__fetch", {"url": f"http://127.0.0.1:{echo_port}/whoami"})
        assert not result.is_error, result.content
        structured: dict[str, Any] = result.structured_content or {}
        assert structured["status"] == 200
        sent = json.loads(structured["body"])["you_sent"]
        assert sent["Authorization"].startswith("Bearer <GATEWAY_SECRET")  # it went out; DLP took it back
        assert TOKEN not in json.dumps(structured) and all(TOKEN not in str(block) for block in result.content)
        refused = await client.call_tool("http__fetch", {"url": "http://127.0.0.1:1/"})
        assert refused.is_error and "allow-list" in str(refused.content[0])
        forged = await client.call_tool(
            "http__fetch", {"url": f"http://127.0.0.1:{echo_port}/", "headers": {"Authorization": "x"}}
        )
        assert forged.is_error
    found = list(records(audit_paths(config)[0]))
    kinds = [(record["event"], record.get("decision")) for record in found]
    assert kinds[:2] == [("secret_read", "allow"), ("tool_call", "allow")]  # the release first
    release = found[0]
    assert release["principal"] == "cell:http" and release["caller"] == "alice" and release["secret"] == "API_TOKEN"
    assert release["rule"] == ["cell:http", "*", "secret:API_TOKEN", "read", "allow"]
    log_text = "".join(path.read_text() for path in audit_paths(config)[0].iterdir())
    assert TOKEN not in log_text


async def test_a_release_the_policy_does_not_grant_is_refused_and_audited(
    tmp_path: Path, state_dir: Path, echo_port: int
) -> None:
    file = _setup(tmp_path, state_dir, echo_port)
    (tmp_path / "policy" / "policy.csv").write_text(
        (tmp_path / "policy" / "policy.csv").read_text().replace("secret:API_TOKEN", "secret:OTHER")
    )
    config = load_config(file, {})
    async with gateway_client(config) as (_, client):
        result = await client.call_tool("http__fetch", {"url": f"http://127.0.0.1:{echo_port}/"})
    assert result.is_error and "secret 'API_TOKEN' is not available" in str(result.content[0])
    release = next(record for record in records(audit_paths(config)[0]) if record["event"] == "secret_read")
    assert release["decision"] == "deny" and release["rule"] is None
