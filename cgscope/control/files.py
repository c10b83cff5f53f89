"""The system calls that change cgroups and processes, one method each: the writer and the revert call
nothing else. Tests subclass CgroupFiles to make one fail, or to act on a fixture tree."""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

from cgscope.control.errors import InvalidRequest
from cgscope.control.explain import FREEZE_TIMEOUT
from cgscope.errors import ProcessGone
from cgscope.fs import procfs
from cgscope.fs.controlfiles import read_value
from cgscope.fs.files import read_text
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.parse import flat_keyed


class CgroupFiles:
    """The system calls that change cgroups and processes (and the reads they wait on)."""

    def read(self, path: Path) -> str:
        return read_value(path)

    def write(self, path: Path, value: str) -> None:
        # As `echo VALUE > FILE` does: one write(2) of the value and a newline (cgroup files parse
        # each write whole and strip the newline). O_NOFOLLOW: never through a symlink, even one that
        # appeared after the checks. Never O_CREAT: only files the kernel offers are written.
        data = (value + "\n").encode()
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            if os.write(fd, data) != len(data):
                raise OSError(errno.EIO, "short write", str(path))
        finally:
            os.close(fd)

    def mkdir(self, path: Path) -> None:
        os.mkdir(path, 0o755)

    def rmdir(self, path: Path) -> None:
        os.rmdir(path)

    def writable(self, path: Path) -> bool:
        """May this user write the file (or, for a directory, make and remove cgroups in it)?"""
        return os.access(path, os.W_OK)

    def wait_frozen(self, path: Path, value: str) -> None:
        """freezer.state passes through FREEZING (cgroup-v1/freezer-subsystem.rst); cgroup.events says
        "frozen 1" once every task stopped (cgroup-v2.rst, cgroup.freeze)."""
        deadline = time.monotonic() + FREEZE_TIMEOUT
        while True:
            if path.name == "freezer.state":
                reached = self.read(path) == value
            else:
                events = path.parent / "cgroup.events"
                reached = flat_keyed(read_text(events), events).get("frozen") == int(value)
            if reached:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(errno.ETIMEDOUT, f"not {value} after {FREEZE_TIMEOUT:g} s", str(path))
            time.sleep(0.01)

    def may_signal(self, host: HostRoot, pid: int) -> bool:
        """May this user signal `pid` (kill(2) with signal 0)? True for a process gone: that is said
        when the signal is sent."""
        if host.root != Path("/"):
            return True
        try:
            os.kill(pid, 0)
        except PermissionError:
            return False
        except ProcessLookupError:
            return True
        return True

    def signal(self, host: HostRoot, pid: int, start_ticks: int | None, signum: int) -> None:
        """Send `signum` to `pid` only if it is still the process started at `start_ticks`: a pidfd pins
        the process, its start time is compared, and the signal goes through the pidfd, so no process
        that took the pid meanwhile can receive it (pidfd_open(2), pidfd_send_signal(2))."""
        if host.root != Path("/"):
            raise InvalidRequest(
                f"a signal goes to a live process: none is sent on a captured tree ({host.root})"
            )
        fd = os.pidfd_open(pid)
        try:
            if procfs.read_stat(host.proc, pid).start_ticks != start_ticks:
                raise ProcessGone(f"process {pid} has exited and its pid names another process: nothing sent")
            signal.pidfd_send_signal(fd, signum)
        finally:
            os.close(fd)
