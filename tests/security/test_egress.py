"""A jailed upstream with a network allow-list reaches what is listed, through the gateway's
egress proxy, and nothing else: not another port, not a listed name that resolves to loopback,
not a direct connection that ignores the proxy."""

from __future__ import annotations

import socketserver
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest

from mcp_gateway.config import load_config
from mcp_gateway.testing import gateway_client
from tests.support import serving_on_loopback, write_config

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from {self.server.server_address[1]}".encode()  # type: ignore[index]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[tuple[int, int]]:
    """Two web servers on the host's loopback: one to allow, one to leave off the list."""
    with (
        serving_on_loopback(ThreadingHTTPServer(("127.0.0.1", 0), _Hello)) as allowed,
        serving_on_loopback(ThreadingHTTPServer(("127.0.0.1", 0), _Hello)) as other,
    ):
        yield allowed, other


class _LineEcho(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"echo " + self.rfile.readline())


@pytest.fixture
def line_echo_port() -> Iterator[int]:
    """A line echo server on the host's loopback, for a CONNECT tunnel (not the shared
    header-echoing `echo_port` of tests/conftest.py)."""
    with serving_on_loopback(socketserver.ThreadingTCPServer(("127.0.0.1", 0), _LineEcho)) as port:
        yield port


def _upstream(network: list[str]) -> str:
    script = ROOT / "tests" / "upstream_server.py"
    listed = ", ".join(f'"{entry}"' for entry in network)
    return (
        f'\n[[upstreams]]\nname = "net"\ncommand = ["{sys.executable}", "-I", "{script}"]\n'
        f'read_only = ["{ROOT}"]\nnetwork = [{listed}]\n'
    )


@pytest.mark.req("R-022")
async def test_only_listed_destinations_are_reachable(
    tmp_path: Path, state_dir: Path, web: tuple[int, int], line_echo_port: int
) -> None:
    allowed, other = web
    network = [f"127.0.0.1:{allowed}", f"localhost:{allowed}", f"127.0.0.1:{line_echo_port}"]
    config = load_config(write_config(tmp_path / "g.toml", state_dir, _upstream(network)), {})
    async with gateway_client(config) as (_, client):

        async def text(tool: str, **arguments: object) -> str:
            result = await client.call_tool(f"net__{tool}", dict(arguments))
            return str(result.content[0].text)  # type: ignore[union-attr]

        assert await text("fetch", url=f"http://127.0.0.1:{allowed}/") == f"200 hello from {allowed}"
        refused = await text("fetch", url=f"http://127.0.0.1:{other}/")
        assert refused.startswith("403 ") and "not on this jail's allow-list" in refused
        # A listed name that resolves to a loopback address is refused: DNS cannot open the host.
        assert "non-public address" in await text("fetch", url=f"http://localhost:{allowed}/")
        assert await text("tunnel", target=f"127.0.0.1:{line_echo_port}", line="ping") == "echo ping"
        assert (await text("tunnel", target=f"127.0.0.1:{other}", line="x")).startswith("HTTP/1.1 403")
        # Around the proxy there is nothing: the jail's own loopback has no such listener, and
        # Landlock refuses any port but the relay's.
        for port in (allowed, other):
            assert (await text("dial", host="127.0.0.1", port=port)).startswith("error")


async def test_without_an_allow_list_there_is_no_network(tmp_path: Path, state_dir: Path, web: tuple[int, int]) -> None:
    config = load_config(write_config(tmp_path / "g.toml", state_dir, _upstream([])), {})
    async with gateway_client(config) as (_, client):
        with anyio.fail_after(30):
            result = await client.call_tool("net__fetch", {"url": f"http://127.0.0.1:{web[0]}/"})
    assert str(result.content[0].text).startswith("error")  # type: ignore[union-attr]


def test_a_malformed_allow_list_entry_is_a_config_error(tmp_path: Path, state_dir: Path) -> None:
    from mcp_gateway.errors import ConfigError

    with pytest.raises(ConfigError, match=r"upstreams\[0\]\.network.*host:port"):
        load_config(write_config(tmp_path / "g.toml", state_dir, _upstream(["github.com"])), {})


async def test_an_allow_list_needs_the_jails_own_network_namespace(tmp_path: Path, state_dir: Path) -> None:
    from mcp_gateway.errors import CellLoadError

    layers = '\nlayers = ["rlimits", "userns", "pidns", "landlock", "seccomp"]\n'
    config = load_config(write_config(tmp_path / "g.toml", state_dir, _upstream(["127.0.0.1:9"]) + layers), {})
    with pytest.raises(CellLoadError, match="a network allow-list needs the netns layer"):
        async with gateway_client(config):
            pass
