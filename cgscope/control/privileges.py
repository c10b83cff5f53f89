"""Dropping to a container's privileges before its command is executed: the capability bounding set and
no_new_privs of the process entered, as `docker exec` and `lxc-attach` give their command the
container's (capabilities(7), prctl(2), capset(2)).

The bounding set is dropped first (PR_CAPBSET_DROP needs CAP_SETPCAP, which the container may lack),
then the permitted, effective and inheritable sets are cut to it and the ambient set cleared. A command
executed as uid 0 then gets exactly the bounding set: P'(permitted) = P(inheritable) | P'(bounding) for
root. Seccomp filters and LSM profiles are not copied (see docs/control.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Callable
from dataclasses import dataclass

PR_CAPBSET_READ = 23  # include/uapi/linux/prctl.h
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAPABILITY_VERSION_3 = 0x20080522  # include/uapi/linux/capability.h: two 32-bit words per set
CAPS = 64  # bits in the sets /proc/PID/status shows


@dataclass(frozen=True)
class Privileges:
    """What the entered process may do: its bounding set (bit N is capability N) and no_new_privs."""

    bounding: int
    no_new_privs: bool


class _Header(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _Data(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


class Dropper:
    """Resolved in the parent (looking symbols up in a child forked from a threaded process could
    deadlock); `drop` runs in the command's child, just before exec."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._prctl, self._capget, self._capset = libc.prctl, libc.capget, libc.capset
        for function in (self._prctl, self._capget, self._capset):
            function.restype = ctypes.c_int

    def _call(self, function: Callable[..., int], *args: object) -> int:
        result = int(function(*args))
        if result < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        return result

    def _prctl_call(self, option: int, arg: int, arg3: int = 0) -> int:
        ulong = ctypes.c_ulong
        return self._call(self._prctl, ctypes.c_int(option), ulong(arg), ulong(arg3), ulong(0), ulong(0))

    def drop(self, to: Privileges) -> None:
        """Drop to `to`; raises OSError."""
        for cap in range(CAPS):
            if to.bounding >> cap & 1:
                continue
            try:
                present = self._prctl_call(PR_CAPBSET_READ, cap)
            except OSError:
                break  # EINVAL: past the kernel's last capability
            if present:
                self._prctl_call(PR_CAPBSET_DROP, cap)
        header, data = _Header(CAPABILITY_VERSION_3, 0), (_Data * 2)()
        self._call(self._capget, ctypes.byref(header), data)
        for word, part in enumerate(data):
            keep = to.bounding >> (32 * word) & 0xFFFFFFFF
            part.effective &= keep
            part.permitted &= keep
            part.inheritable &= keep
        self._call(self._capset, ctypes.byref(header), data)
        with contextlib.suppress(OSError):  # EINVAL: a kernel before 4.3, without ambient capabilities
            self._prctl_call(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
        if to.no_new_privs:
            self._prctl_call(PR_SET_NO_NEW_PRIVS, 1)
