"""The jail's first process: `sandbox.launcher CONFIG_JSON` (see boot.py), started with an empty
environment (so nothing of the gateway's can be read from it later).

It enters new user, network and PID namespaces, maps its own uid and gid, and forks: the child
is PID 1 of the new PID namespace, so when it ends the kernel ends every process it left. The
child sets its resource limits, forbids new privileges, restricts itself with Landlock and
seccomp, moves into its scratch dir and becomes the command. With a network allow-list the
launcher also relays the command's proxy connections out of the namespace (relay.py). It waits
and exits with
the command's status (128 + N when a signal N ended it). Any failure to apply a layer ends it
with status 125 and a line on stderr, before the command runs: fail closed.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from sandbox import cgroup, landlock, relay
from sandbox.seccomp import build_filter

CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID = 0x10000000, 0x40000000, 0x20000000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SETUP_FAILED = 125

_libc = ctypes.CDLL(None, use_errno=True)


def _fail(message: str) -> NoReturn:
    os.write(2, f"jail: {message}\n".encode())
    os._exit(SETUP_FAILED)


def _prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        _fail(f"prctl({option}) failed: {os.strerror(ctypes.get_errno())}")


def _unshare(flags: int) -> None:
    if flags and _libc.unshare(flags) != 0:
        _fail(f"unshare failed: {os.strerror(ctypes.get_errno())}")


def enter_namespaces(layers: set[str], before_pidns: Callable[[], None] | None = None) -> None:
    """New user and network namespaces, then (after `before_pidns`, in the new network
    namespace) a new PID namespace for the next child."""
    flags = (CLONE_NEWUSER if "userns" in layers else 0) | (CLONE_NEWNET if "netns" in layers else 0)
    uid, gid = os.geteuid(), os.getegid()
    _unshare(flags)
    if flags & CLONE_NEWUSER:
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    if before_pidns is not None:
        before_pidns()
    _unshare(CLONE_NEWPID if "pidns" in layers else 0)


def set_limits(config: dict[str, Any]) -> None:
    limits = {
        resource.RLIMIT_AS: config["address_space_bytes"],
        resource.RLIMIT_CPU: config["cpu_seconds"],
        resource.RLIMIT_NOFILE: config["open_files"],
        resource.RLIMIT_FSIZE: config["file_size_bytes"],
        resource.RLIMIT_NPROC: config["processes"],
        resource.RLIMIT_CORE: 0,
    }
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the signal that ended it."""
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def enter_jail(config: dict[str, Any], scratch: str, seccomp_filter: Any = None) -> dict[str, str]:
    """The per-process layers, in order: die with the parent, limits, no new privileges, Landlock
    with only `scratch` writable, seccomp (`seccomp_filter` when built in advance), then move into
    `scratch`. Returns the jailed program's environment."""
    layers = set(config["layers"])
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if "rlimits" in layers:
        set_limits(config)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if "landlock" in layers:
        landlock.restrict(config["read_only"], [scratch], tcp_connect=config["tcp_connect"], abi=config["abi"])
    if "seccomp" in layers:
        (seccomp_filter or build_filter(network=config["network"])).load()
    os.chdir(scratch)
    return dict(config["env"]) | {"HOME": scratch, "TMPDIR": scratch}


def _become_command(config: dict[str, Any]) -> None:
    try:
        env = enter_jail(config, config["scratch"])
        os.execve(config["argv"][0], config["argv"], env)
    except BaseException as exc:  # the child must never return into the launcher's code
        _fail(f"{type(exc).__name__}: {exc}")


def _start_relay(proxy_socket: str) -> None:
    """The egress relay (relay.py): a process of the jail's network namespace, outside its PID
    namespace, that dies with the launcher."""
    try:
        relay.bring_up_loopback()
        listener = relay.listen()
    except OSError as exc:
        _fail(f"cannot set up the egress relay: {exc}")
    if os.fork() == 0:
        try:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            relay.serve_forever(listener, proxy_socket)
        finally:
            os._exit(0)
    listener.close()


def main() -> None:
    config = json.loads(sys.argv[1])
    layers = set(config["layers"])
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if config.get("cgroup"):
        try:
            cgroup.join(config["cgroup"])
        except OSError as exc:
            _fail(f"cannot join the process-limit cgroup: {exc}")
    egress = config.get("egress")
    enter_namespaces(layers, (lambda: _start_relay(egress)) if egress else None)
    child = os.fork()
    if child == 0:
        _become_command(config)
    _, status = os.waitpid(child, 0)
    os._exit(exit_code(status))


if __name__ == "__main__":
    main()
