"""High-risk tools through the whole gateway: they run in the jail, never in its process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from mcp_gateway.config import load_config
from mcp_gateway.testing import gateway_client
from tests.support import write_config

pytestmark = pytest.mark.anyio
CELLS = '\n[[cells]]\nmodule = "cells.exec"\n\n[[cells]]\nmodule = "tests.relay_cell:WhereCell"\n'


def _out(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    structured: dict[str, Any] = result.structured_content
    return structured


async def test_exec_runs_code_in_the_jail(tmp_path: Path, state_dir: Path) -> None:
    secret = state_dir / "private.json"
    secret.write_text("{}")
    config = load_config(write_config(tmp_path / "g.toml", state_dir, CELLS), {})
    async with gateway_client(config) as (_, client):
        ran = _out(await client.call_tool("exec__python", {"code": "print(6 * 7)"}))
        assert ran == {"exit_code": 0, "stdout": "42\n", "stderr": "", "timed_out": False, "truncated": False}
        probe = f"""
import socket
try:
    open({str(secret)!r}).read(); print("read state")
except OSError: print("no state")
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1); print("network")
except OSError: print("no network")
"""
        assert _out(await client.call_tool("exec__python", {"code": probe}))["stdout"] == "no state\nno network\n"
        shell = _out(await client.call_tool("exec__shell", {"argv": ["/bin/echo", "hello", "$HOME"]}))
        assert shell["stdout"] == "hello $HOME\n"  # an argv, never a shell
        slow = _out(await client.call_tool("exec__python", {"code": "import time; time.sleep(30)", "timeout": 0.5}))
        assert slow["timed_out"] is True
        failed = _out(await client.call_tool("exec__python", {"code": "raise SystemExit(3)"}))
        assert failed["exit_code"] == 3


@pytest.mark.req("R-017")
async def test_a_high_risk_tool_never_runs_in_the_gateways_process(tmp_path: Path, state_dir: Path) -> None:
    (state_dir / "notes.db").write_text("x")
    config = load_config(write_config(tmp_path / "g.toml", state_dir, CELLS), {})
    async with gateway_client(config) as (_, client):
        where = _out(await client.call_tool("where__am_i", {"state_file": str(state_dir / "notes.db")}))
    assert where["pid"] != os.getpid() and where["cwd"].startswith("/tmp/jail-")
    assert where["can_read_state"] is False


async def test_a_cell_runs_under_the_named_profile_it_picks(tmp_path: Path, state_dir: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data.txt").write_text("for the reader profile")
    code = f"print(open({str(shared / 'data.txt')!r}).read())"
    profile = f'\n[jail.profiles.reader]\nread_only = ["{shared}"]\nwall_seconds = 5\n'
    for picked, expected in ((True, "for the reader profile\n"), (False, "")):
        cells = CELLS.replace('module = "cells.exec"\n', 'module = "cells.exec"\njail_profile = "reader"\n')
        extra = profile + (cells if picked else CELLS)
        config = load_config(write_config(tmp_path / "g.toml", state_dir, extra), {})
        async with gateway_client(config) as (gateway, client):
            ran = _out(await client.call_tool("exec__python", {"code": code}))
            assert ran["stdout"] == expected
            if not picked:
                assert "Permission denied" in ran["stderr"]
