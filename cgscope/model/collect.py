"""One snapshot of every process, with what never changes read once per process lifetime."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generic, TypeVar

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import procfs
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import UNIFIED
from cgscope.fs.piddir import PidDir
from cgscope.fs.status import status_of
from cgscope.fs.users import UserNames
from cgscope.fs.uts import UtsNames
from cgscope.model.process import Process

T = TypeVar("T")
# What a process's second read (Collector._kept) is for happens within milliseconds of its fork: the
# exec, the unshare() that unshare(1) and runc's init make before theirs. One at least this old when
# first read has done it: read once.
SETTLE_SECONDS = 1.0
_Immutable = tuple[tuple[str, ...], Mapping[str, int | None]]  # cmdline, namespaces


@dataclass(frozen=True, slots=True)
class _Kept(Generic[T]):
    """What kept() read of one process: its /proc/PID inode, the round it was read in and when
    (CLOCK_BOOTTIME, on the live host), whether it is settled (read twice, or read old), the value."""

    inode: int | None
    round: int
    read_at: float | None
    settled: bool
    value: T


@dataclass
class ProcessCache:
    """cmdline and namespace inodes, keyed by (pid, start ticks, comm).

    A process keeps its start time for life, but may exec (new cmdline) or setns()/unshare() (new
    namespaces) — runc's init, unshare(1), nsenter(1) do both, then exec. Exec changes comm, so comm
    in the key catches them; a process that changes namespaces without exec'ing is the rare miss.
    """

    entries: dict[tuple[int, int, str], _Immutable] = field(default_factory=dict)

    def prune(self, alive: set[tuple[int, int, str]]) -> None:
        for key in self.entries.keys() - alive:
            del self.entries[key]


@dataclass(frozen=True)
class Snapshot:
    processes: Mapping[int, Process]
    host_namespaces: Mapping[str, int | None]
    boot_time: float
    taken_at: float  # time.monotonic() when the scan ended


class Collector:
    """Reads /proc under a HostRoot; keep one alive across refreshes to reuse its cache."""

    def __init__(self, host: HostRoot) -> None:
        self.host = host
        self.cache = ProcessCache()
        self.users = UserNames(host.root)
        self.boot_time = procfs.boot_time(host.proc)
        self.ticks = procfs.clock_ticks()
        self.page_size = os.sysconf("SC_PAGE_SIZE")
        # /proc/PID/cgroup names v1 hierarchies by their controllers; cgroup2 is the empty name.
        self._hierarchy = {m.key: m.key for m in host.mounts if m.version == 1}
        if host.unified is not None:  # a "0::" line appears once cgroup2 was ever mounted, even unmounted
            self._hierarchy[""] = UNIFIED
        # cgscope's own pid, when it runs on the host it reads (not a captured or fixture root)
        self.reader = os.getpid() if host.root == Path("/") else None
        self.uts = UtsNames(host.proc, live=self.reader is not None)
        self._listed: dict[int, int] = {}  # pid -> /proc/PID inode, from the last pids()
        self._comms: dict[int, _Kept[str]] = {}
        self._argv: dict[int, _Kept[tuple[str, ...]]] = {}
        self._placed: dict[int, _Kept[Mapping[str, int | None]]] = {}
        self._recalled: dict[int, _Kept[Process]] = {}
        self._round = 0

    def process(self, pid: int) -> Process:
        """Read one process; raises ProcessGone if it exits meanwhile, AccessDenied if /proc hides it.
        Its files are read through one open /proc/PID (fs/piddir.py): a pid reused meanwhile makes the
        process gone, never a record of two processes."""
        return self._read(pid, full=True)

    def placed(self, pid: int) -> Process:
        """What places a container member and names it inside its container: `stat`, `status` (NSpid)
        and its pid namespace, a third of a full read; cmdline, cgroups and the other namespaces are
        left unread (empty). Raises as process() does."""
        return self._read(pid, full=False)

    def _read(self, pid: int, full: bool) -> Process:
        with PidDir.opened(self.host.proc, pid) as d:
            stat = procfs.stat_of(d, pid)
            uid, nspid, cgroups = -1, None, {}
            if not stat.kernel_thread:
                with suppress(AccessDenied):
                    status = status_of(d)
                    uid, ids = status.uid, status.nspid
                    nspid = ids[-1] if ids else None
                if full:
                    with suppress(AccessDenied):
                        cgroups = self._cgroups(d)
            else:
                uid, nspid = 0, pid  # kernel threads run as root in the initial pid namespace
            key = (pid, stat.start_ticks, stat.comm)
            cached = self.cache.entries.get(key) if full else ((), procfs.ns_of(d, ("pid",)))
            if cached is None:
                cmdline: tuple[str, ...] = ()
                if not stat.kernel_thread:
                    with suppress(AccessDenied):
                        cmdline = procfs.cmdline_of(d)
                cached = self.cache.entries[key] = (cmdline, procfs.ns_of(d))
        return Process(
            pid=pid,
            start_ticks=stat.start_ticks,
            start_time=self.boot_time + stat.start_ticks / self.ticks,
            ppid=stat.ppid,
            comm=stat.comm,
            state=stat.state,
            kernel_thread=stat.kernel_thread,
            uid=uid,
            user=self.users.name(uid),
            nspid=nspid,
            cmdline=cached[0],
            cgroups=cgroups,
            namespaces=cached[1],
            cpu_ticks=stat.utime + stat.stime,
            rss_bytes=stat.rss_pages * self.page_size,
            threads=stat.num_threads,
        )

    def _cgroups(self, d: PidDir) -> dict[str, str]:
        """/proc/PID/cgroup by hierarchy key."""
        lines = procfs.cgroup_of(d)
        return {self._hierarchy.get(c, c): path for c, path in lines if c in self._hierarchy}

    def cgroups(self, pid: int) -> dict[str, str]:
        """A process's cgroups now, by hierarchy key (one file); raises as process() does."""
        return self._cgroups(PidDir.at(self.host.proc, pid))

    def moved(self, p: Process) -> Process:
        """`p` with its cgroups as they are now (one file): a container's init, whose cgroups are the
        container's, so that a move shows at once."""
        if p.kernel_thread:
            return p
        cgroups = self.cgroups(p.pid)
        return p if cgroups == p.cgroups else replace(p, cgroups=cgroups)

    def pids(self) -> list[int]:
        """The processes now; each call starts a new round of what kept() reads (and forgets what it kept
        of processes gone: once a round, not once a question)."""
        self._listed = procfs.pids(self.host.proc)
        self._round += 1
        for cache in (self._comms, self._argv, self._placed, self._recalled):
            for pid in [pid for pid, kept in cache.items() if self._listed.get(pid) != kept.inode]:
                del cache[pid]
        return list(self._listed)

    @property
    def listing(self) -> Mapping[int, int]:
        """pid -> /proc/PID inode, as the last pids() listed them (a reused pid is a new inode)."""
        return self._listed

    def namespaces(self, pid: int, types: tuple[str, ...]) -> dict[str, int | None]:
        """A few namespace inodes, read afresh: two readlinks tell a container from the host cheaply."""
        return procfs.read_ns(self.host.proc, pid, types)

    def placements(self, pids: Iterable[int]) -> dict[int, Mapping[str, int | None]]:
        """The pid and mount namespace inodes of many processes, two readlinks each, read as kept() reads:
        what a process does with its namespaces in its first refresh interval is seen (unshare(1) and
        nsenter(1) do it at once), a setns() without a new pid later in its life is not."""
        return self._kept(self._placed, pids, lambda pid: procfs.read_ns(self.host.proc, pid, ("pid", "mnt")))

    def comms(self, pids: Iterable[int]) -> dict[int, str]:
        """Each process's comm, read as kept() reads."""
        return self._kept(self._comms, pids, lambda pid: procfs.read_comm(self.host.proc, pid))

    def commands(self, comms: frozenset[str], pids: Iterable[int]) -> dict[str, list[tuple[str, ...]]]:
        """The command lines of those of `pids` whose comm is in `comms` (runtime daemons), by comm."""
        found = self.comms(pids)
        daemons = [pid for pid, comm in found.items() if comm in comms]
        argv = self._kept(self._argv, daemons, lambda pid: procfs.read_cmdline(self.host.proc, pid))
        out: dict[str, list[tuple[str, ...]]] = {}
        for pid in daemons:
            if pid in argv:
                out.setdefault(found[pid], []).append(argv[pid])
        return out

    def hostname(self, pid: int, uts: int) -> str | None:
        """The hostname of UTS namespace `uts`, which `pid` is in (fs/uts.py); None where unknown."""
        return self.uts.hostname(pid, uts)

    def recall(self, pids: Iterable[int]) -> dict[int, Process]:
        """Processes as first read (their counters stale: a container's members, whose usage is their
        cgroup's); see kept(). Read a process afresh with process() where it must be current."""
        return self._kept(self._recalled, pids, self.process)

    def _kept(
        self, cache: dict[int, _Kept[T]], pids: Iterable[int], read: Callable[[int], T]
    ) -> dict[int, T]:
        """What was read of each process, kept for its life: read when first seen and once more in the
        next round (one first seen between fork and exec, or before it unshare()d, is read again as it
        settled) unless it was SETTLE_SECONDS old at the first read, then never. A process is its
        /proc/PID inode at the last pids(): a reused pid is a new directory. Gone ones are left out."""
        out: dict[int, T] = {}
        now = time.clock_gettime(time.CLOCK_BOOTTIME) if self.reader is not None else None
        for pid in pids:
            inode = self._listed.get(pid)
            kept = cache.get(pid)
            if kept is not None and kept.inode == inode:
                if not (kept.settled or kept.round == self._round) and self._read_old(pid, kept):
                    kept = cache[pid] = _Kept(kept.inode, kept.round, kept.read_at, True, kept.value)
                if kept.settled or kept.round == self._round:
                    out[pid] = kept.value
                    continue
            with suppress(ProcessGone, AccessDenied):
                out[pid] = read(pid)
                again = kept is not None and kept.inode == inode
                cache[pid] = _Kept(inode, self._round, now, again, out[pid])
        return out

    def _read_old(self, pid: int, kept: _Kept[T]) -> bool:
        """Whether `kept` was read of a process SETTLE_SECONDS old, as far as its start is known: from its
        recall() record. /proc/PID/stat's start time counts from boot as CLOCK_BOOTTIME does
        (fs/proc/array.c, task->start_boottime; older kernels counted the monotonic clock, which a
        suspend leaves behind: their processes look older). A captured root has no clock to compare."""
        recalled = self._recalled.get(pid)
        if kept.read_at is None or recalled is None or recalled.inode != kept.inode:
            return False
        return kept.read_at - recalled.value.start_ticks / self.ticks >= SETTLE_SECONDS

    def processes(self, pids: Iterable[int], full: bool = True) -> dict[int, Process]:
        """Full reads of these pids (`full` False: placed()); those that exit meanwhile, or that /proc
        hides, are left out."""
        out = {}
        for pid in pids:
            try:
                out[pid] = self._read(pid, full)
            except (ProcessGone, AccessDenied):
                continue
        return out

    def retain(self, processes: Iterable[Process]) -> None:
        """Forget the cached entries of every other process (exited, or no longer read)."""
        self.cache.prune({(p.pid, p.start_ticks, p.comm) for p in processes})

    def snapshot(self) -> Snapshot:
        processes = self.processes(self.pids())
        self.retain(processes.values())
        return Snapshot(processes, host_namespaces(processes, self.reader), self.boot_time, time.monotonic())


def host_namespaces(processes: Mapping[int, Process], reader: int | None = None) -> dict[str, int | None]:
    """The host's namespace of each type: pid 1's where readable, else kthreadd's, else the reader's.

    Kernel threads run in the initial namespaces, so kthreadd (pid 2, parent 0) stands in for an init
    we may not read (a supervisor's /proc/1/ns is EACCES even for root when it is not dumpable). An
    unprivileged user can read neither: then cgscope's own process (`reader`) is the reference.
    """
    init, kthreadd = processes.get(1), processes.get(2)
    refs = [
        p for p in (init, kthreadd) if p is not None and (p.pid == 1 or (p.kernel_thread and p.ppid == 0))
    ]
    if reader is not None and reader in processes:
        refs.append(processes[reader])
    out: dict[str, int | None] = {}
    for ns in procfs.NS_TYPES:
        out[ns] = next((p.namespaces.get(ns) for p in refs if p.namespaces.get(ns) is not None), None)
    return out
