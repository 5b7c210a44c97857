"""Landlock, through its three system calls (Linux 5.13+; no maintained Python binding exists).

A ruleset handles every access right the running kernel's ABI knows; rules then allow some of
them beneath given paths; `restrict_self` applies it to the calling thread and its future
children, for good. From ABI 4 the ruleset also handles TCP bind and connect (none allowed
unless a port is listed), and from ABI 6 it scopes abstract unix sockets and signals to the
jail itself.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable
from typing import Final

_SYS_CREATE_RULESET: Final = 444  # the same numbers on x86_64 and aarch64
_SYS_ADD_RULE: Final = 445
_SYS_RESTRICT_SELF: Final = 446
_CREATE_RULESET_VERSION: Final = 1
_RULE_PATH_BENEATH: Final = 1
_RULE_NET_PORT: Final = 2

# Filesystem rights, and the ABI that introduced each.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_BY_ABI: Final = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
READ_ONLY: Final = EXECUTE | READ_FILE | READ_DIR
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _NetPort(ctypes.Structure):
    _fields_ = (("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64))


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"landlock {what}: {os.strerror(errno)}")
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI, 0 when Landlock is absent or disabled."""
    result = _libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(0, int(result))


def fs_rights(abi: int) -> int:
    return max((mask for level, mask in _FS_BY_ABI.items() if level <= abi), default=0)


def restrict(read_only: Iterable[str], read_write: Iterable[str], *, tcp_connect: Iterable[int] = (), abi: int) -> None:
    """Allow reading beneath `read_only`, reading and writing beneath `read_write`, connecting to
    `tcp_connect` ports (ABI 4+), and nothing else; then restrict this process for good.
    Paths that do not exist are skipped (a read-only view of what is there)."""
    if abi < 1:
        raise OSError("Landlock is not available")
    handled = fs_rights(abi)
    attr = _RulesetAttr(handled_access_fs=handled)
    size = 8
    if abi >= 4:
        attr.handled_access_net, size = NET_BIND_TCP | NET_CONNECT_TCP, 16
    if abi >= 6:
        attr.scoped, size = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL, 24
    ruleset = _check(_libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0), "create")
    try:
        for paths, access in ((read_only, READ_ONLY), (read_write, handled)):
            for path in paths:
                _allow_path(ruleset, path, access & handled)
        if abi >= 4:
            for port in tcp_connect:
                rule = _NetPort(allowed_access=NET_CONNECT_TCP, port=port)
                _check(_libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_NET_PORT, ctypes.byref(rule), 0), "add port rule")
        _check(_libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0), "restrict self")
    finally:
        os.close(ruleset)


def _allow_path(ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not os.path.isdir(path):
            # Rights that only make sense on directories are refused on a file.
            access &= EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
        rule = _PathBeneath(allowed_access=access, parent_fd=fd)
        _check(_libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0), f"add rule {path}")
    finally:
        os.close(fd)
