"""The escape suite: from inside the jail, each of these must fail.

Each test runs a Python snippet in a jail with every layer required, both ways the jail runs
code: a one-shot jailed `python -I` (runner.py) and a warm zygote's forked worker (pool.py).
The snippet prints ESCAPED only if the escape worked. Run as whoever runs the tests (root in CI),
with every layer required; test_unprivileged.py runs this file again as an unprivileged user,
requiring the layers the host grants that user (`JAIL_ESCAPE_LAYERS=available`).
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import textwrap
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from sandbox import host
from sandbox.pool import ZygotePool
from sandbox.profile import ALL_LAYERS, Layer, Profile
from sandbox.runner import JailResult, run

pytestmark = pytest.mark.anyio
PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")
_MODE: ContextVar[str] = ContextVar("jail_mode", default="oneshot")


@pytest.fixture(autouse=True, params=["oneshot", "zygote"])
def jail_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    token = _MODE.set(request.param)
    yield request.param
    _MODE.reset(token)


def _layers() -> tuple[Layer, ...]:
    if os.environ.get("JAIL_ESCAPE_LAYERS") == "available":
        return tuple(layer for layer in ALL_LAYERS if host.available()[layer] is None)
    return ALL_LAYERS


LAYERS = _layers()


async def jailed(code: str, profile: Profile | None = None) -> JailResult:
    profile = replace(profile or Profile(wall_seconds=20), layers=LAYERS)
    if _MODE.get() == "oneshot":
        return await run([PYTHON, "-I", "-c", textwrap.dedent(code)], profile)
    async with ZygotePool(profile, size=1) as pool:
        return await pool.run_python(textwrap.dedent(code))


def _text(result: JailResult) -> str:
    return (result.stdout + result.stderr).decode(errors="replace")


async def test_the_jail_runs_a_command() -> None:
    result = await jailed("import os; print('hello', os.getpid(), os.getcwd())")
    assert result.exit_code == 0 and result.stdout.startswith(b"hello ") and b" /tmp/jail-" in result.stdout


@pytest.mark.req("R-018")
async def test_no_tcp_or_udp_to_the_hosts_loopback() -> None:
    with socket.socket() as listener, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(1.0)
        tcp_port, udp_port = listener.getsockname()[1], udp.getsockname()[1]
        result = await jailed(f"""
            import socket
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                try:
                    s = socket.socket(socket.AF_INET, kind)
                    s.settimeout(2)
                    s.connect(("127.0.0.1", {tcp_port} if kind == socket.SOCK_STREAM else {udp_port}))
                    s.send(b"x")
                    print("ESCAPED", kind)
                except OSError as exc:
                    print("refused", kind, exc.errno)
            """)
        with pytest.raises(TimeoutError):
            udp.recv(10)
    assert "ESCAPED" not in _text(result) and _text(result).count("refused") == 2


async def test_no_abstract_unix_socket_of_the_host() -> None:
    name = f"\0mcp-gateway-test-{secrets.token_hex(4)}"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(name)
        listener.listen()
        result = await jailed(f"""
            import socket
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect({name!r})
                print("ESCAPED")
            except OSError as exc:
                print("refused", exc.errno)
            """)
    assert "ESCAPED" not in _text(result) and "refused" in _text(result)


async def test_the_state_dir_home_and_secret_store_cannot_be_read(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "secrets.json").write_text("master-secret")
    home_file = Path.home() / f".mcp-gateway-test-{secrets.token_hex(4)}"
    home_file.write_text("home-secret")
    try:
        result = await jailed(f"""
            for path in ({str(state / "secrets.json")!r}, {str(home_file)!r}, {str(Path.home())!r}):
                try:
                    data = open(path).read() if not path.endswith(("root", "home")) else __import__("os").listdir(path)
                    print("ESCAPED", path, data)
                except OSError as exc:
                    print("refused", exc.errno)
            """)
    finally:
        home_file.unlink()
    assert "ESCAPED" not in _text(result) and _text(result).count("refused") == 3


async def test_writing_outside_scratch_fails(tmp_path: Path) -> None:
    target = tmp_path / "escape.txt"
    result = await jailed(f"""
        import os
        for path in ({str(target)!r}, "/tmp/mcp-gateway-escape", os.path.join(os.getcwd(), "ok.txt")):
            try:
                open(path, "w").write("x")
                print("wrote", path)
            except OSError as exc:
                print("refused", exc.errno)
        """)
    text = _text(result)
    assert not target.exists() and not Path("/tmp/mcp-gateway-escape").exists()
    assert text.count("refused") == 2 and "wrote /tmp/jail-" in text  # its own scratch dir only


async def test_a_fork_bomb_hits_the_process_limit() -> None:
    result = await jailed(
        """
        import os, time
        made = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                made += 1
        except OSError as exc:
            print("stopped", made, exc.errno)
        """,
        Profile(processes=16, wall_seconds=20),
    )
    assert "stopped" in _text(result) and int(_text(result).split()[1]) < 16


async def test_two_gib_cannot_be_allocated_and_a_cpu_spin_is_killed() -> None:
    result = await jailed("""
        try:
            block = bytearray(2 << 30)
            print("ESCAPED")
        except MemoryError:
            print("refused")
        """)
    assert _text(result).strip() == "refused"
    spin = await jailed("while True: pass", Profile(cpu_seconds=1, wall_seconds=20))
    assert not spin.timed_out and spin.exit_code in (128 + 24, 128 + 9)  # SIGXCPU, then SIGKILL at the hard limit


async def test_the_parent_cannot_be_signalled_nor_anything_traced() -> None:
    result = await jailed(f"""
        import ctypes, os, signal
        libc = ctypes.CDLL(None, use_errno=True)
        for target in ({os.getpid()}, os.getppid()):
            try:
                os.kill(target, signal.SIGTERM) if target > 0 else None
                print("ESCAPED kill", target) if target > 0 else print("no parent visible")
            except OSError as exc:
                print("refused kill", exc.errno)
        print("ptrace", libc.ptrace(0, 0, 0, 0), ctypes.get_errno())
        print("io_uring", libc.syscall(425, 1, 0), ctypes.get_errno())
        """)
    text = _text(result)
    assert "ESCAPED" not in text and "refused kill" in text
    assert "ptrace -1 1" in text and "io_uring -1 1" in text  # EPERM from seccomp


async def test_the_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_GATEWAY_MASTER_KEY", "do-not-leak-this-key")
    result = await jailed("""
        import os
        print(sorted(os.environ))
        for path in ("/proc/self/environ", "/proc/1/environ"):
            try:
                print(open(path, "rb").read())
            except OSError as exc:
                print("refused", exc.errno)
        """)
    assert b"do-not-leak-this-key" not in result.stdout + result.stderr
    assert "['HOME', 'LANG', 'PATH', 'TMPDIR']" in _text(result)


async def test_no_process_is_left_behind() -> None:
    marker = f"mcp-gateway-leftover-{secrets.token_hex(4)}"
    result = await jailed(f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv("/bin/sleep", ["sleep", "30", {marker!r}])
            os._exit(0)
        print("left a daemon")
        """)
    assert "left a daemon" in _text(result)
    await anyio.sleep(0.2)
    leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and marker.encode() in _cmdline(p)]
    assert leftovers == []


def _cmdline(process: Path) -> bytes:
    try:
        return (process / "cmdline").read_bytes()
    except OSError:
        return b""


async def test_timeout_and_output_cap() -> None:
    slow = await jailed("import time; time.sleep(30)", Profile(wall_seconds=0.5))
    assert slow.timed_out
    loud = await jailed("print('x' * 100000)", Profile(output_bytes=1000))
    assert loud.truncated and len(loud.stdout) == 1000
