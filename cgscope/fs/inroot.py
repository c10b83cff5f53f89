"""Files of a process's root directory, looked up as the process itself would look them up.

Through /proc/PID/root the kernel resolves an absolute symlink, or "..", against the *reader's* root: a
container whose /etc/passwd is a symlink to /etc/some-host-file makes root's reader open the host's
file. openat2(2) with RESOLVE_IN_ROOT (Linux >= 5.6) treats the directory it starts from as "/" for the
whole lookup, symlinks included; RESOLVE_NO_MAGICLINKS refuses /proc/self/fd-style links, which would
lead out again. Where the kernel lacks openat2 (ENOSYS), or a seccomp filter refuses it (EPERM), nothing
is read: callers fall back to defaults rather than to the unsafe lookup.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cgscope.fs.files import decode, reading
from cgscope.fs.users import PasswdEntry, parse_passwd

SYS_OPENAT2 = 437  # one number on every architecture: openat2 came after the syscall tables were unified
RESOLVE_NO_MAGICLINKS = 0x02  # include/uapi/linux/openat2.h
RESOLVE_IN_ROOT = 0x10
READ_LIMIT = 1 << 20  # bytes: an /etc/passwd is a few KiB; a container could offer an endless file

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _OpenHow(ctypes.Structure):
    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64))


@contextmanager
def root_of(proc: Path, pid: int) -> Iterator[int]:
    """A descriptor of the process's root directory (/proc/PID/root), for the lookups below."""
    path = f"{proc}/{pid}/root"
    with reading(path):
        fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def open_in_root(root: int, path: str, flags: int) -> int:
    """openat2(root, path, flags) resolved inside `root`; raises OSError."""
    extra = os.O_CLOEXEC if flags & os.O_PATH else os.O_CLOEXEC | os.O_NOCTTY  # O_PATH takes no others
    how = _OpenHow(flags | extra, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
    fd = int(
        _libc.syscall(
            ctypes.c_long(SYS_OPENAT2),
            ctypes.c_long(root),
            ctypes.c_char_p(os.fsencode(path)),
            ctypes.byref(how),
            ctypes.c_size_t(ctypes.sizeof(how)),
        )
    )
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), path)
    return fd


def _regular(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


def read_in_root(root: int, path: str) -> bytes | None:
    """The first READ_LIMIT bytes of a regular file inside `root`; None when it is missing, not a regular
    file (a FIFO would block), unreadable, or openat2 is unavailable."""
    try:
        fd = open_in_root(root, path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        return os.read(fd, READ_LIMIT) if _regular(fd) else None
    except OSError:
        return None
    finally:
        os.close(fd)


def is_file_in_root(root: int, path: str) -> bool:
    """Whether `path` names a regular file inside `root` (after following symlinks there)."""
    try:
        fd = open_in_root(root, path, os.O_PATH)
    except OSError:
        return False
    try:
        return _regular(fd)
    finally:
        os.close(fd)


def account(root: int, uid: int) -> PasswdEntry | None:
    """`uid`'s entry in etc/passwd inside `root` (its home and login shell); None if unreadable or not
    listed."""
    data = read_in_root(root, "etc/passwd")
    entries = parse_passwd(decode(data)) if data is not None else []
    return next((e for e in entries if e.uid == uid), None)
