"""Real brokers for tests (and bench/bench_bus.py): nats-server and redis-server on free loopback
ports, each in its own temporary directory, stopped (and restartable on the same port) by
whoever started them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

START_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the broker exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"the broker did not listen on {port} within {START_SECONDS} s")


@dataclass
class Broker:
    """One broker process; `stop()` and `start()` again on the same port simulate a restart."""

    kind: str
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] | None = None
    """The broker's environment (e.g. GOMAXPROCS for nats-server); None: this process's."""

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}" if self.kind == "nats" else f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        if self.kind == "nats":
            config = self.directory / "nats.conf"
            config.write_text(f"listen: 127.0.0.1:{self.port}\nmax_payload: 8MB\n")
            return [_binary("nats-server"), "-c", str(config)]
        return [
            _binary("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
            "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no",
        ]  # fmt: skip

    def start(self) -> None:
        log = self.directory / f"{self.kind}.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(self._command(), stdout=out, stderr=subprocess.STDOUT, env=self.env)
        _wait_listening(self.port, self.process, log)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise RuntimeError(f"{name} is not installed (.ci/run installs it: apt-get install nats-server redis-server)")
    return found


@contextmanager
def running_broker(kind: str, directory: Path, env: dict[str, str] | None = None) -> Iterator[Broker]:
    directory.mkdir(parents=True, exist_ok=True)
    broker = Broker(kind, directory, env=env)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
