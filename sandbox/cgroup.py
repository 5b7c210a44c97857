"""A process-count limit through the pids cgroup controller.

RLIMIT_NPROC counts processes per user and does not bind a jail whose user is root outside its
user namespace; a pids cgroup of its own bounds the jail whatever its user. cgroup v2 (the
unified hierarchy, when it has the pids controller) or v1 (`/sys/fs/cgroup/pids`) are both used.
The launcher joins the group before anything else, so every process of the jail is counted;
when the call ends, whatever is left in the group is killed and the group removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def pids_root() -> Path | None:
    """Where this process may create pids-limited groups, or None."""
    candidates = []
    controllers = CGROUP_ROOT / "cgroup.controllers"
    if controllers.is_file() and "pids" in controllers.read_text().split():
        candidates.append(CGROUP_ROOT)
    candidates.append(CGROUP_ROOT / "pids")
    for root in candidates:
        if (root / "cgroup.procs").is_file() and os.access(root, os.W_OK):
            return root
    return None


def create(max_processes: int) -> Path:
    root = pids_root()
    if root is None:
        raise OSError("no writable pids cgroup")
    group = root / f"mcp-gateway-jail-{secrets.token_hex(6)}"
    group.mkdir(mode=0o755)
    (group / "pids.max").write_text(str(max_processes))
    return group


def join(group: str) -> None:
    Path(group, "cgroup.procs").write_text(str(os.getpid()))


def destroy(group: Path) -> None:
    """Kill what is left in the group, then remove it (retrying while the killed ones exit)."""
    for _ in range(200):
        try:
            pids = [int(line) for line in (group / "cgroup.procs").read_text().split()]
        except FileNotFoundError:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            group.rmdir()
            return
        except OSError:  # EBUSY until the last process has exited
            time.sleep(0.005)
