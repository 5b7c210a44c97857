"""The jail's side of egress (egress.py): inside the jail's network namespace, the launcher
listens on `127.0.0.1:EGRESS_PORT` and relays each connection, byte for byte, to the proxy's
unix socket outside. It parses nothing: the proxy decides.

The jailed command may connect to that one port (Landlock) and nothing else exists in its
namespace to connect to; the relay runs in the launcher, outside the command's Landlock and
seccomp, because it must reach the socket. It is a process of its own, forked after the network
namespace is entered and before the PID namespace is (a process that has unshared its PID
namespace cannot start threads, and this one must not be visible to the command).
"""

from __future__ import annotations

import contextlib
import fcntl
import selectors
import socket
import struct
from typing import Final

EGRESS_PORT: Final = 3128
PROXY_URL: Final = f"http://127.0.0.1:{EGRESS_PORT}"
MAX_CONNECTIONS: Final = 64
SEND_TIMEOUT: Final = 30.0
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_IFREQ: Final = struct.Struct("16sH22x")


def proxy_environment() -> tuple[tuple[str, str], ...]:
    """What points the usual HTTP clients at the relay (Node's fetch needs NODE_USE_ENV_PROXY)."""
    names = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY")
    return (*((name, PROXY_URL) for name in names), ("NODE_USE_ENV_PROXY", "1"))


def bring_up_loopback() -> None:
    """A new network namespace's loopback device starts down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        name, flags = _IFREQ.unpack(fcntl.ioctl(probe, _SIOCGIFFLAGS, _IFREQ.pack(b"lo", 0)))
        fcntl.ioctl(probe, _SIOCSIFFLAGS, _IFREQ.pack(name, flags | _IFF_UP))


def listen() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", EGRESS_PORT))
    listener.listen(MAX_CONNECTIONS)
    return listener


def serve_forever(listener: socket.socket, proxy_socket: str) -> None:
    """Relay every accepted connection to `proxy_socket`, on one thread (threads would count
    against the jail's process limit). A peer that stops reading stalls only its own traffic
    until SEND_TIMEOUT, then both sides of its connection are closed."""
    _Relay(listener, proxy_socket).run()


class _Relay:
    def __init__(self, listener: socket.socket, proxy_socket: str) -> None:
        self.listener, self.proxy_socket = listener, proxy_socket
        self.selector = selectors.DefaultSelector()
        self.peers: dict[socket.socket, socket.socket] = {}
        self.ended: set[socket.socket] = set()
        listener.setblocking(False)
        self.selector.register(listener, selectors.EVENT_READ)

    def run(self) -> None:
        while True:
            for key, _ in self.selector.select():
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self.listener:
                    self._accept()
                else:
                    self._forward(sock)

    def _accept(self) -> None:
        try:
            inside, _ = self.listener.accept()
        except OSError:
            return
        outside = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if len(self.peers) >= 2 * MAX_CONNECTIONS:
                raise OSError("too many connections")
            outside.connect(self.proxy_socket)
        except OSError:
            inside.close()
            outside.close()
            return
        for side, other in ((inside, outside), (outside, inside)):
            side.settimeout(SEND_TIMEOUT)  # receives only happen when ready; sends may wait this long
            self.peers[side] = other
            self.selector.register(side, selectors.EVENT_READ)

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
            if data:
                self.peers[sock].sendall(data)
                return
        except BlockingIOError:
            return
        except OSError:
            self._close_pair(sock)
            return
        # End of one direction: pass it on; the pair closes when both have ended.
        self.selector.unregister(sock)
        self.ended.add(sock)
        peer = self.peers[sock]
        with contextlib.suppress(OSError):
            peer.shutdown(socket.SHUT_WR)
        if peer in self.ended:
            self._close_pair(sock)

    def _close_pair(self, sock: socket.socket) -> None:
        for side in (sock, self.peers.get(sock)):
            if side is None or side not in self.peers:
                continue
            if side not in self.ended:
                self.selector.unregister(side)
            self.ended.discard(side)
            del self.peers[side]
            side.close()
