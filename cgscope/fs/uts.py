"""The hostname a UTS namespace holds: the nodename uname(2) gives a process inside it.

No file holds it: /proc/PID/root/etc/hostname is what a runtime wrote into the container's rootfs (if
anything), and /proc/sys/kernel/hostname answers in the reader's own UTS namespace. So, as atop does, a
short-lived thread joins the namespace and calls uname(): setns(2) with CLONE_NEWUTS changes the UTS
namespace of the calling thread only, and the thread ends with it, so the process is left as it was.
Joining needs CAP_SYS_ADMIN over the namespace's owner (root); without it the hostname is unknown.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path

from cgscope.fs.files import open_fd

CLONE_NEWUTS = 0x04000000  # include/uapi/linux/sched.h


def setns_call() -> Callable[[int, int], None]:
    """setns(2): os.setns from Python 3.12 on, else libc's through ctypes. Resolve it before forking: loading
    a library in a child forked from a threaded process (the dashboard) could deadlock."""
    native: Callable[[int, int], None] | None = getattr(os, "setns", None)
    if native is not None:
        return native
    libc_setns = ctypes.CDLL(None, use_errno=True).setns

    def call(fd: int, nstype: int) -> None:
        if libc_setns(fd, nstype) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    return call


class UtsNames:
    """Hostnames by UTS namespace inode, each read once. Only on the live host: a captured or fixture
    root (`live` False) has no namespaces to join."""

    def __init__(self, proc: Path, live: bool) -> None:
        self.proc = proc
        self.live = live
        self._names: dict[int, str | None] = {}
        self._setns: Callable[[int, int], None] | None = None

    def hostname(self, pid: int, inode: int) -> str | None:
        """The hostname of the UTS namespace `inode`, entered through `pid` (a process in it)."""
        if inode not in self._names:
            self._names[inode] = self._read(pid, inode) if self.live else None
        return self._names[inode]

    def _read(self, pid: int, inode: int) -> str | None:
        if self._setns is None:
            self._setns = setns_call()
        setns, found = self._setns, []

        def inside() -> None:
            try:
                fd = open_fd(f"{self.proc}/{pid}/ns/uts")
            except OSError:
                return  # gone, or not ours to read
            try:
                if os.fstat(fd).st_ino == inode:  # the pid may have moved on, or been reused
                    setns(fd, CLONE_NEWUTS)
                    found.append(os.uname().nodename)
            except OSError:
                return
            finally:
                os.close(fd)

        thread = threading.Thread(target=inside, name="cgscope-uts", daemon=True)
        thread.start()
        thread.join()
        return found[0] if found else None
