"""Directories read by file descriptor: each step opens a name *in* a directory already open (openat(2)
semantics), never follows a symbolic link and never resolves a path string again, so a tree that other
users can change while it is read cannot lead the reader anywhere else.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

# O_NOFOLLOW with O_DIRECTORY: a symlink in the way fails (ELOOP or ENOTDIR) instead of being followed.
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_PATH: enough to look names up below it (search permission only, no read permission needed).
PATH_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# An xattr that is not there (ENODATA), a filesystem without xattrs (ENOTSUP), or trusted.* xattrs,
# which are invisible without CAP_SYS_ADMIN (EPERM/EACCES).
_NO_XATTR = frozenset({errno.ENODATA, errno.ENOTSUP, errno.EPERM, errno.EACCES})


def open_dir_at(dir_fd: int, name: str) -> int:
    """The directory `name` in the open directory `dir_fd`, opened for reading; a symlink fails."""
    return os.open(name, DIR_FLAGS, dir_fd=dir_fd)


@contextmanager
def opened(directory: int | os.PathLike[str] | str) -> Iterator[int]:
    """An open directory: `directory` itself when it is a descriptor (left open), else the directory at
    that path, opened once (a symlink as its last component fails) and closed on exit."""
    if isinstance(directory, int):
        yield directory
        return
    fd = os.open(directory, DIR_FLAGS)
    try:
        yield fd
    finally:
        os.close(fd)


def listing(dir_fd: int) -> list[os.DirEntry[str]]:
    """The entries of an open directory, in name order (os.scandir of a descriptor: each entry's stat is
    fstatat(dir_fd, name, AT_SYMLINK_NOFOLLOW))."""
    with os.scandir(dir_fd) as it:
        return sorted(it, key=lambda e: e.name)


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    """The entry `name` of an open directory, not followed; None where there is none."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None


def xattr(fd: int, attribute: str) -> bytes | None:
    """An xattr of an open file or directory, None where it is not set or not visible."""
    try:
        return os.getxattr(fd, attribute)
    except OSError as exc:
        if exc.errno in _NO_XATTR:
            return None
        raise


def xattr_at(dir_fd: int, name: str, attribute: str) -> bytes | None:
    """An xattr of the entry `name` of an open directory, never following a symlink: the entry is opened
    with O_PATH (no read permission needed, no device opened) and read through /proc/self/fd."""
    try:
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    try:
        return os.getxattr(f"/proc/self/fd/{fd}", attribute)
    except OSError as exc:
        if exc.errno in _NO_XATTR or exc.errno == errno.ENOENT:
            return None
        raise
    finally:
        os.close(fd)
