"""The zygote: a jailed Python that forks a fresh, jailed child for every call.

Started as `sandbox.zygote CONFIG_JSON` (see boot.py) with an empty environment, it joins its
process-limit cgroup, enters new user, network and PID namespaces, builds the seccomp filter,
says `ready`, then serves requests on stdin (one JSON line each) and answers on stdout.

The zygote proper is PID 1 of its PID namespace. Per request it makes a scratch dir and forks
one worker; when the worker has ended, kill(-1) ends whatever it left (from PID 1 it reaches
every other process of the namespace and never the zygote). The worker limits itself (rlimits,
no new privileges, Landlock with only its scratch dir writable, seccomp), then either runs a
Python snippet in this already-warm interpreter (a fork is a fresh copy: no state crosses
calls, since the zygote itself never runs a request's code) or becomes a command. The zygote
collects capped output, enforces the wall-clock timeout by killing the worker, and answers.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import gc
import importlib
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from typing import Any

from sandbox import cgroup
from sandbox.launcher import PR_SET_PDEATHSIG, enter_jail, enter_namespaces, exit_code
from sandbox.seccomp import build_filter

_libc = ctypes.CDLL(None, use_errno=True)
_FILTER: Any = None
"""The seccomp filter, built once at start (3 ms); each worker only loads it."""


def _worker(request: dict[str, Any], config: dict[str, Any], scratch: str, out: int, err: int) -> None:
    """PID 1 of a fresh PID namespace: limit, restrict, then run the request. Never returns."""
    code = 0
    try:
        env = enter_jail(config, scratch, _FILTER)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        if request["kind"] == "exec":
            os.execve(request["argv"][0], request["argv"], env)
        os.environ.clear()
        os.environ.update(env)
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the worker ends with os._exit
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        if request["kind"] == "callable":
            _call(request)
        else:
            sys.argv = ["<snippet>"]
            exec(compile(request["code"], "<snippet>", "exec"), {"__name__": "__main__"})  # the point of the jail
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # the snippet's own failure, reported as Python would
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _call(request: dict[str, Any]) -> None:
    """Call `module:function` with the request's JSON payload; its JSON result is the only thing
    written to stdout (whatever the callable prints goes to stderr)."""
    module_name, _, function_name = request["target"].partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result_out, sys.stdout = sys.stdout, sys.stderr
    result = function(request["payload"])
    sys.stdout = result_out
    sys.stdout.write(json.dumps(result))


def _spawn(request: dict[str, Any], config: dict[str, Any], scratch: str, out: int, err: int) -> int:
    worker = os.fork()
    if worker == 0:
        try:
            _worker(request, config, scratch, out, err)
        finally:
            os._exit(125)  # a forked child must never return into the zygote's loop
    return worker


def _end_leftovers() -> None:
    """Kill everything the call left running, then reap it. The zygote is PID 1 of its own PID
    namespace, so kill(-1) reaches every other process there and never the zygote itself."""
    if os.getpid() != 1:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)
    while True:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _collect(fds: dict[int, list[bytes]], cap: int, deadline: float) -> tuple[bool, bool]:
    """Read both pipes until they close or the deadline passes: (timed out, truncated)."""
    sizes = dict.fromkeys(fds, 0)
    open_fds = set(fds)
    truncated = False
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            return True, truncated
        ready, _, _ = select.select(list(open_fds), [], [], left)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
                continue
            if sizes[fd] < cap:
                fds[fd].append(chunk[: cap - sizes[fd]])
            truncated |= sizes[fd] + len(chunk) > cap
            sizes[fd] += len(chunk)
    return False, truncated


def handle(request: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    scratch = tempfile.mkdtemp(prefix="jail-")
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        worker = _spawn(request, config, scratch, out_w, err_w)
        os.close(out_w)
        os.close(err_w)
        chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
        deadline = time.monotonic() + float(request.get("timeout", config["wall_seconds"]))
        timed_out, truncated = _collect(chunks, config["output_bytes"], deadline)
        if timed_out:
            os.kill(worker, signal.SIGKILL)
        _, status = os.waitpid(worker, 0)
        _end_leftovers()
        code = exit_code(status)
        return {
            "exit_code": code,
            "stdout": base64.b64encode(b"".join(chunks[out_r])).decode(),
            "stderr": base64.b64encode(b"".join(chunks[err_r])).decode(),
            "timed_out": timed_out,
            "truncated": truncated,
        }
    finally:
        for fd in (out_r, err_r):
            os.close(fd)
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    config = json.loads(sys.argv[1])
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if config.get("cgroup"):
        cgroup.join(config["cgroup"])
    enter_namespaces(set(config["layers"]))
    if "pidns" in config["layers"]:
        # The zygote proper is PID 1 of the new PID namespace; this process only waits for it.
        child = os.fork()
        if child:
            _, status = os.waitpid(child, 0)
            os._exit(exit_code(status))
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    for module in config.get("preload", ()):
        importlib.import_module(module)  # before the layers: a worker may not read the files again
    global _FILTER
    _FILTER = build_filter(network=config["network"]) if "seccomp" in config["layers"] else None
    # Everything alive now is the zygote's own and lives forever: keep it out of the collector's
    # sight, so that a worker's collections do not touch (and copy) every page it inherited.
    gc.collect()
    gc.freeze()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            answer = handle(json.loads(line), config)
        except Exception as exc:  # one bad request must not end the zygote
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
