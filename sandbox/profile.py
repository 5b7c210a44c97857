"""A jail profile: which layers are required, and the limits of the jailed command."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Literal

Layer = Literal["rlimits", "pids", "userns", "netns", "pidns", "landlock", "seccomp"]
ALL_LAYERS: tuple[Layer, ...] = ("rlimits", "pids", "userns", "netns", "pidns", "landlock", "seccomp")

# What a jailed program may read: the system's programs and libraries, and this Python.
SYSTEM_READ_ONLY: tuple[str, ...] = (
    "/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/localtime",
    "/etc/alternatives", "/dev/null", "/dev/urandom", "/dev/zero",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Profile:
    layers: tuple[Layer, ...] = ALL_LAYERS
    """Required layers: a layer the host cannot apply makes the jail refuse to run."""
    address_space_bytes: int = 1 << 30
    cpu_seconds: int = 10
    open_files: int = 64
    file_size_bytes: int = 16 << 20
    processes: int = 32
    wall_seconds: float = 10.0
    output_bytes: int = 1 << 20
    """stdout and stderr are each cut at this size."""
    network: bool = False
    """With `netns` the jail has no network at all; without it, seccomp still refuses IP sockets
    unless this is True."""
    tcp_connect: tuple[int, ...] = ()
    egress_socket: str | None = None
    """The unix socket of an egress proxy (egress.py): the jail's only way out, through a relay
    inside its own network namespace (which the profile must then have)."""
    read_only: tuple[str, ...] = field(default_factory=lambda: (*SYSTEM_READ_ONLY, sys.base_prefix))
    env: tuple[tuple[str, str], ...] = (("PATH", "/usr/local/bin:/usr/bin:/bin"), ("LANG", "C.UTF-8"))
    """The jailed command's whole environment (plus HOME and TMPDIR, its scratch dir)."""
