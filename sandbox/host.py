"""Which jail layers this host can apply, probed once (for `doctor` and the fail-closed check)."""

from __future__ import annotations

import ctypes.util
import functools
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from sandbox import cgroup, landlock
from sandbox.errors import LayerUnavailable
from sandbox.profile import ALL_LAYERS, Layer

_USERNS_PROBE = (
    "import ctypes,os;l=ctypes.CDLL(None,use_errno=True);"
    "os._exit(0 if l.unshare(0x10000000|0x40000000|0x20000000)==0 else 1)"
)


@functools.cache
def available() -> dict[Layer, str | None]:
    """Layer -> None when it can be applied here, else why not."""
    abi = landlock.abi_version()
    userns = subprocess.run([sys.executable, "-I", "-c", _USERNS_PROBE], env={}, check=False, timeout=30).returncode
    namespaces = None if userns == 0 else "this host refuses new user/network/PID namespaces"
    return {
        "rlimits": None,
        "pids": None if cgroup.pids_root() is not None else "no writable pids cgroup (v1 or v2) for a process limit",
        "userns": namespaces,
        "netns": namespaces,
        "pidns": namespaces,
        "landlock": None if abi >= 1 else "the kernel has no Landlock (or it is disabled)",
        "seccomp": None if ctypes.util.find_library("seccomp") else "libseccomp is not installed",
    }


def missing(layers: tuple[Layer, ...], found: Mapping[Layer, str | None] | None = None) -> dict[Layer, str]:
    """The required layers this host (or the `found` report of another) cannot apply, with why."""
    report = available() if found is None else found
    return {layer: reason for layer in layers if (reason := report.get(layer)) is not None}


def require(layers: tuple[Layer, ...], found: Mapping[Layer, str | None] | None = None) -> None:
    """Fail closed: raise `LayerUnavailable` naming each required layer that cannot be applied."""
    unavailable = missing(layers, found)
    if unavailable:
        reasons = "; ".join(f"{layer}: {why}" for layer, why in unavailable.items())
        raise LayerUnavailable(f"the jail cannot apply required layers ({reasons})")


def describe() -> dict[str, Any]:
    return {
        "landlock_abi": landlock.abi_version(),
        "uid": os.geteuid(),
        "layers": {k: available()[k] for k in ALL_LAYERS},
    }
