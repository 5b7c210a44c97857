"""Shared fixtures: a gateway configuration in a temporary state dir, and real gateway processes."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support import GatewayProcess, serving_on_loopback, start_http_gateway, write_config


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def config_file(tmp_path: Path, state_dir: Path) -> Path:
    """The default cell set, with its workspace and notes under the test's own state dir."""
    return write_config(tmp_path / "gateway.toml", state_dir)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """An environment without any MCP_GATEWAY_* setting of the developer's own."""
    for name in list(os.environ):
        if name.startswith("MCP_GATEWAY"):
            monkeypatch.delenv(name)
    yield dict(os.environ)


@pytest.fixture
async def http_gateway(config_file: Path, clean_env: dict[str, str]) -> AsyncIterator[GatewayProcess]:
    async with start_http_gateway(config_file, clean_env) as gateway:
        yield gateway


class _HeaderEcho(BaseHTTPRequestHandler):
    """A careless server: it echoes the request's headers back in its body (as JSON)."""

    def do_GET(self) -> None:
        body = json.dumps({"you_sent": dict(self.headers)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_port() -> Iterator[int]:
    """The port of a header-echoing HTTP server on loopback (for http.fetch tests)."""
    with serving_on_loopback(ThreadingHTTPServer(("127.0.0.1", 0), _HeaderEcho)) as port:
        yield port
