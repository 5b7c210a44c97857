"""The system-call filter, through libseccomp (pyseccomp, its ctypes binding).

Everything is allowed except what a jailed command never needs and an escape always does:
socket families other than AF_UNIX (unless the profile allows the network), ptrace, bpf,
mounting, new namespaces (unshare, setns, namespace flags of clone; clone3 is refused so that
libc falls back to clone, whose flags can be checked), io_uring, the kernel keyring, and a few
more (perf events, other processes' memory, kernel modules, kexec, userfaultfd).
"""

from __future__ import annotations

import errno
import socket
from typing import Final

import pyseccomp as sc  # type: ignore[import-untyped]

_DENIED: Final = (
    "ptrace", "bpf", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key",
    "perf_event_open", "process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "userfaultfd", "open_by_handle_at",
    "swapon", "swapoff", "reboot", "fsopen", "fsmount", "move_mount", "open_tree",
)  # fmt: skip
_NAMESPACE_FLAGS: Final = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)


def build_filter(*, network: bool) -> sc.SyscallFilter:
    """The filter, built but not loaded (a zygote builds it once; each child only loads it)."""
    rules = sc.SyscallFilter(sc.ALLOW)
    deny = sc.ERRNO(errno.EPERM)
    for name in _DENIED:
        rules.add_rule(deny, name)
    rules.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for flag in _NAMESPACE_FLAGS:
        rules.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    allowed = sorted({socket.AF_UNIX} | ({socket.AF_INET, socket.AF_INET6} if network else set()))
    # Refuse every family but the allowed ones, new ones included: below, between and above them.
    refuse_family = sc.ERRNO(errno.EAFNOSUPPORT)
    previous = -1
    for family in allowed:
        for between in range(previous + 1, family):
            rules.add_rule(refuse_family, "socket", sc.Arg(0, sc.EQ, between))
        previous = family
    rules.add_rule(refuse_family, "socket", sc.Arg(0, sc.GT, allowed[-1]))
    return rules


def load_filter(*, network: bool) -> None:
    """Build and install the filter on this process (and its future children), for good."""
    build_filter(network=network).load()
