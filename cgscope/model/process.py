"""A process as cgscope sees it: identity, place in the cgroup hierarchies, namespace inodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Process:
    pid: int
    start_ticks: int  # clock ticks after boot; (pid, start_ticks) identifies the process
    start_time: float  # seconds since the epoch
    ppid: int
    comm: str
    state: str
    kernel_thread: bool
    uid: int  # real uid; -1 when unknown
    user: str
    nspid: int | None  # the pid inside its own pid namespace (last NSpid field); None when unknown
    cmdline: tuple[str, ...]
    cgroups: Mapping[str, str]  # hierarchy key ("unified", "memory", ...) -> cgroup path
    namespaces: Mapping[str, int | None]  # type -> inode; None when unreadable
    # Counters when it was read (/proc/PID/stat): two reads make its CPU %.
    cpu_ticks: int = 0  # utime + stime
    rss_bytes: int = 0
    threads: int = 1

    @property
    def key(self) -> tuple[int, int]:
        return (self.pid, self.start_ticks)

    @property
    def command(self) -> str:
        """argv joined, or "[comm]" as ps shows kernel threads and zombies."""
        return " ".join(self.cmdline) if self.cmdline else f"[{self.comm}]"
