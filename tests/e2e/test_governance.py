"""Who may call what, end to end: real tokens, a real policy directory, a real gateway over HTTP."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from tests.support import GATEWAY, create_token, start_http_gateway, write_config, write_policy

pytestmark = pytest.mark.anyio

BOB_LOSES_STAT = "p, bob, *, fs.stat, call, deny"


@pytest.fixture
def governed(tmp_path: Path, state_dir: Path) -> tuple[Path, Path]:
    policy = write_policy(tmp_path / "policy")
    config = write_config(tmp_path / "gateway.toml", state_dir, f'\n[authz]\npolicy_dir = "{policy}"\n')
    return config, policy


async def _names(gateway: object, token: str) -> set[str]:
    async with gateway.client(token=token) as client:  # type: ignore[attr-defined]
        return {tool.name for tool in (await client.list_tools()).tools}


async def test_roles_decide_what_each_token_sees_and_may_call(
    governed: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    config, _ = governed
    bob = await create_token(config, clean_env, "bob", "reader")
    async with start_http_gateway(config, clean_env) as gateway:
        alice_sees, bob_sees = await _names(gateway, gateway.token), await _names(gateway, bob)
        assert "fs__write_file" in alice_sees and "fs__write_file" not in bob_sees
        assert "fs__read_file" in bob_sees
        async with gateway.client(token=bob) as client:
            with pytest.raises(MCPError) as forbidden:
                await client.call_tool("fs__write_file", {"path": "x.txt", "content": "no"})
            with pytest.raises(MCPError) as missing:
                await client.call_tool("fs__no_such_tool", {})
            # Refused and missing look alike: nothing reveals that the tool exists.
            assert forbidden.value.error.code == missing.value.error.code == -32602
            assert forbidden.value.error.message.replace("fs__write_file", "X") == missing.value.error.message.replace(
                "fs__no_such_tool", "X"
            )
            assert not (await client.call_tool("fs__list_dir", {})).is_error
        async with gateway.client() as client:
            assert not (await client.call_tool("fs__write_file", {"path": "x.txt", "content": "yes"})).is_error


async def test_a_revoked_token_is_refused(governed: tuple[Path, Path], clean_env: dict[str, str]) -> None:
    config, _ = governed
    async with start_http_gateway(config, clean_env) as gateway:
        assert await _names(gateway, gateway.token)
        listed = await anyio.run_process([*GATEWAY, "token", "list", "--config", str(config), "--json"], env=clean_env)
        (entry,) = json.loads(listed.stdout)
        await anyio.run_process([*GATEWAY, "token", "revoke", "--config", str(config), entry["id"]], env=clean_env)
        request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {"Accept": "application/json, text/event-stream", **gateway.auth}
        async with httpx2.AsyncClient() as http:
            response = await http.post(gateway.mcp_url, json=request, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "tools" not in response.text


async def test_policy_changes_apply_live_and_a_bad_one_keeps_the_last_good(
    governed: tuple[Path, Path], clean_env: dict[str, str]
) -> None:
    config, policy = governed
    bob = await create_token(config, clean_env, "bob", "reader")
    csv = policy / "policy.csv"
    async with start_http_gateway(config, clean_env) as gateway, gateway.client(token=bob) as client:
        assert "fs__stat" in {tool.name for tool in (await client.list_tools()).tools}
        errors: list[Exception] = []

        async def hammer(stop: anyio.Event) -> None:
            # Calls keep flowing while the policy changes under them; none may fail oddly.
            while not stop.is_set():
                try:
                    result = await client.call_tool("fs__list_dir", {})
                    assert not result.is_error
                except Exception as exc:  # collected and asserted on below
                    errors.append(exc)
                    return

        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(hammer, stop)
            csv.write_text(csv.read_text() + BOB_LOSES_STAT + "\n")
            with anyio.fail_after(20):
                while "fs__stat" in {tool.name for tool in (await client.list_tools()).tools}:
                    await anyio.lowlevel.checkpoint()
            stop.set()
        assert errors == []

        csv.write_text("p, role:reader, *, fs.read_*.evil*, call, allow\nthis is not csv\n")
        status_file = config.parent / "state" / "status" / "policy.json"
        with anyio.fail_after(20):
            while "rejected" not in status_file.read_text() and 'last_error": null' in status_file.read_text():
                await anyio.lowlevel.checkpoint()
        # The last good policy (bob without fs.stat) stays in force.
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "fs__stat" not in names and "fs__read_file" in names
        doctor = await anyio.run_process(
            [sys.executable, "-m", "mcp_gateway", "doctor", "--config", str(config), "--json"],
            env=clean_env,
            check=False,
        )
        report = {check["name"]: check for check in json.loads(doctor.stdout)["checks"]}
        assert doctor.returncode == 1
        assert report["policy"]["status"] == "fail"
        assert report["policy in force"]["status"] == "warn"
