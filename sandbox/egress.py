"""Egress by allow-list: the only way out of a jail that has a network allow-list.

The jail keeps its own network namespace, which has nothing but a loopback device. Inside it,
the launcher relays TCP connections made to `127.0.0.1:3128` (relay.py) to a unix socket that
this proxy serves outside the jail. The jailed program finds the proxy through the usual
`HTTPS_PROXY`/`HTTP_PROXY` variables and asks for a destination with `CONNECT host:port` (or an
absolute-form `GET http://host/...`). The proxy refuses, with 403, every destination that is not
on the allow-list, and also a name on the list that resolves to a loopback, private, link-local
or otherwise non-public address (so a DNS answer cannot turn an allowed name into a way into the
host or its network); an IP literal on the list is taken as written. It resolves names itself:
the jail has no DNS.

Landlock cannot do this by itself: it filters TCP by port, not by host, and not UDP at all.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import anyio
from anyio.abc import ByteStream, SocketStream, TaskStatus

logger = logging.getLogger(__name__)
MAX_HEAD_BYTES: Final = 8192
HEAD_TIMEOUT: Final = 10.0
CONNECT_TIMEOUT: Final = 10.0
MAX_CONNECTIONS: Final = 64
_CHUNK: Final = 65536

EgressListener = Callable[[str, int, bool, str], None]
"""(host, port, allowed, reason) for every request the proxy decides."""


class EgressRuleError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Destination:
    """One allow-list entry: `host:port`, `*.domain:port` or `[v6]:port`."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Destination:
        host, sep, port_text = text.strip().rpartition(":")
        if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise EgressRuleError(f"{text!r} is not host:port (a port from 1 to 65535 is required)")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        bare = host[2:] if host.startswith("*.") else host
        if not bare or any(char in bare for char in "/@ *") or bare.startswith("."):
            raise EgressRuleError(f"{text!r}: {host!r} is not a host name, a *.domain or an IP address")
        return cls(host.lower().rstrip("."), int(port_text))

    @property
    def is_literal(self) -> bool:
        return _ip(self.host) is not None

    def matches(self, host: str, port: int) -> bool:
        if port != self.port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class AllowList:
    def __init__(self, entries: Iterable[str]) -> None:
        self.destinations = tuple(Destination.parse(entry) for entry in entries)

    def match(self, host: str, port: int) -> Destination | None:
        host = host.lower().rstrip(".")
        return next((rule for rule in self.destinations if rule.matches(host, port)), None)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def parse_target(head: bytes) -> tuple[str, int, bool]:
    """(host, port, is_connect) of a proxy request head; `Refused` when it is not one."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise Refused(400, "not an HTTP/1.x proxy request")
    method, target = parts[0], parts[1]
    if method == "CONNECT":
        authority, is_connect = target, True
    elif target.lower().startswith("http://"):
        authority, is_connect = target[7:].split("/", 1)[0], False
    else:
        raise Refused(400, "only CONNECT and absolute http:// requests are proxied")
    if "@" in authority:
        raise Refused(400, "credentials in the authority are not accepted")
    host, sep, port_text = authority.rpartition(":")
    if not sep or "]" in port_text:  # no port, or the colon was inside an IPv6 literal
        host, port_text = authority, "" if is_connect else "80"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise Refused(400, f"no valid port in {authority[:100]!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host:
        raise Refused(400, "no host")
    return host.lower().rstrip("."), int(port_text), is_connect


class EgressProxy:
    """Serves one jail's allow-list on a unix socket (create it with `socket_path` in a private dir)."""

    def __init__(self, allow: AllowList, socket_path: Path, listener: EgressListener | None = None) -> None:
        self.allow, self.socket_path, self._listener = allow, socket_path, listener
        self._slots = anyio.CapacityLimiter(MAX_CONNECTIONS)

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        listener = await anyio.create_unix_listener(self.socket_path)
        os.chmod(self.socket_path, 0o600)
        try:
            async with listener:
                task_status.started()
                await listener.serve(self._handle)
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()

    async def _handle(self, client: ByteStream) -> None:
        async with client, self._slots:
            try:
                head, rest = await self._read_head(client)
                host, port, is_connect = parse_target(head)
                remote = await self._open(host, port)
            except Refused as refusal:
                await _reply(client, refusal.status, refusal.reason)
                return
            async with remote:
                if is_connect:
                    await client.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    if rest:
                        await remote.send(rest)
                else:
                    await remote.send(head + rest)
                await _splice(client, remote)

    async def _read_head(self, client: ByteStream) -> tuple[bytes, bytes]:
        data = b""
        with anyio.move_on_after(HEAD_TIMEOUT):
            while b"\r\n\r\n" not in data:
                if len(data) > MAX_HEAD_BYTES:
                    raise Refused(431, "request head too large")
                try:
                    data += await client.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    raise Refused(400, "connection closed before the request head ended") from None
            head, _, rest = data.partition(b"\r\n\r\n")
            return head + b"\r\n\r\n", rest
        raise Refused(408, "request head not received in time")

    async def _open(self, host: str, port: int) -> SocketStream:
        rule = self.allow.match(host, port)
        if rule is None:
            self._decided(host, port, False, "not on the allow-list")
            raise Refused(403, f"egress to {host}:{port} is not on this jail's allow-list")
        try:
            addresses = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            self._decided(host, port, False, "does not resolve")
            raise Refused(502, f"{host} does not resolve") from None
        # A name must resolve to public addresses only; an IP literal on the list is as written.
        ips = [str(address[4][0]) for address in addresses]
        if not rule.is_literal and any(not ipaddress.ip_address(ip.split("%")[0]).is_global for ip in ips):
            self._decided(host, port, False, "resolves to a non-public address")
            raise Refused(403, f"{host} resolves to a non-public address; list the address itself to allow it")
        try:
            with anyio.fail_after(CONNECT_TIMEOUT):
                remote = await anyio.connect_tcp(ips[0], port)
        except (OSError, TimeoutError):
            self._decided(host, port, False, "unreachable")
            raise Refused(502, f"{host}:{port} is unreachable") from None
        self._decided(host, port, True, "allowed")
        return remote

    def _decided(self, host: str, port: int, allowed: bool, reason: str) -> None:
        if not allowed:
            logger.warning("egress to %s:%d refused: %s", host, port, reason)
        if self._listener is not None:
            self._listener(host, port, allowed, reason)


async def _reply(client: ByteStream, status: int, reason: str) -> None:
    body = f"{reason}\n".encode()
    head = f"HTTP/1.1 {status} Egress refused\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        await client.send(head.encode() + b"Connection: close\r\n\r\n" + body)


async def _splice(a: ByteStream, b: ByteStream) -> None:
    async def pump(source: ByteStream, sink: ByteStream) -> None:
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            while True:
                await sink.send(await source.receive(_CHUNK))
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            await sink.send_eof()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pump, a, b)
        tg.start_soon(pump, b, a)
