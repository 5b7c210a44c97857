"""The canary: a known secret, planted in the secret store and used by a tool on every path we
have (released to a cell, sent to a server that echoes it, sent back by a caller in plain and in
disguise, over stdio and HTTP, with every exporter and debug logging on), is then looked for in
everything the gateway produced: what clients received, its stdout and stderr, its logs, the
span file, the audit log and every other file in its state dir. Zero hits, in any encoding."""

from __future__ import annotations

import base64
import secrets
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.support import GATEWAY, start_http_gateway, write_config, write_policy

pytestmark = pytest.mark.anyio
CANARY = "canary-" + secrets.token_hex(16)


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [
        value, base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(), urllib.parse.quote(value, safe=""),
    ]  # fmt: skip


def _setup(tmp_path: Path, env: dict[str, str], port: int) -> Path:
    policy = write_policy(tmp_path / "policy", "p, cell:http, *, secret:CANARY, read, allow")
    extra = f"""
[authz]
policy_dir = "{policy}"

[telemetry]
exporters = ["jsonl", "console"]
log_format = "json"

[[cells]]
module = "cells.http"
[[cells.settings.hosts]]
host = "127.0.0.1"
schemes = ["http"]
ports = [{port}]
auth_secret = "CANARY"
"""
    file = write_config(tmp_path / "g.toml", tmp_path / "state", extra)
    done = subprocess.run(
        [*GATEWAY, "secrets", "set", "CANARY", "--config", str(file)],
        input=CANARY, capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not any(form in done.stdout + done.stderr for form in _forms(CANARY))
    return file


def _calls(port: int) -> list[tuple[str, dict[str, object]]]:
    return [
        ("http__fetch", {"url": f"http://127.0.0.1:{port}/echo"}),
        ("notes__put", {"key": "plain", "text": f"the token is {CANARY}"}),
        ("notes__put", {"key": "disguised", "text": base64.b64encode(CANARY.encode()).decode()}),
        ("notes__put", {"key": "x" * 500, "text": CANARY}),  # invalid: the error must not echo the value
        ("exec__python", {"code": "import os; print(dict(os.environ))"}),
        ("http__fetch", {"url": f"http://127.0.0.1:{port}/", "headers": {CANARY: "as a key"}}),
    ]


@pytest.mark.req("R-015")
async def test_the_canary_never_leaves(
    tmp_path: Path, clean_env: dict[str, str], echo_port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    env = dict(clean_env)
    config = _setup(tmp_path, env, echo_port)
    config.write_text(config.read_text() + '\n[[cells]]\nmodule = "cells.exec"\n')
    received: list[str] = []
    stderr_log = tmp_path / "stdio-stderr.log"
    with stderr_log.open("w") as errlog:
        args = [*GATEWAY[1:], "--log-level", "DEBUG", "serve", "--config", str(config)]
        params = StdioServerParameters(command=GATEWAY[0], args=args, env=env)
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for tool, arguments in _calls(echo_port):
                try:
                    received.append(repr(await session.call_tool(tool, arguments)))
                except Exception as exc:  # a JSON-RPC error is also something the client received
                    received.append(repr(exc))
    async with start_http_gateway(config, env) as gateway, gateway.client() as client:
        for tool, arguments in _calls(echo_port):
            try:
                received.append(repr(await client.call_tool(tool, arguments)))
            except Exception as exc:
                received.append(repr(exc))
        http_stderr = "".join(gateway.stderr)
    assert "GATEWAY_SECRET" in "".join(received)  # the echo came back, redacted: the path was exercised
    captured = capfd.readouterr()
    outputs = {
        "client results": "".join(received),
        "stdio gateway stderr": stderr_log.read_text(),
        "http gateway stderr": http_stderr,
        "test stdout/stderr": captured.out + captured.err,
    }
    for path in sorted((tmp_path / "state").rglob("*")):
        if path.is_file():
            outputs[str(path.relative_to(tmp_path))] = path.read_bytes().decode("utf-8", errors="replace")
    assert any("spans.jsonl" in name for name in outputs) and any("audit-0" in name for name in outputs)
    hits = [
        (name, text[max(0, text.find(form) - 200) : text.find(form) + 60])
        for name, text in outputs.items()
        for form in _forms(CANARY)
        if form in text
    ]
    assert not hits, f"the canary leaked: {hits}"
