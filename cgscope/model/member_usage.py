"""A container's usage from its own processes, where its cgroup holds other processes too (a bare
container in the root cgroup, or in a login session's): the cgroup's counters would be theirs as well.
This is decided per figure (model/borrowed.py): on cgroup v1 a container may have a memory cgroup of its
own and still be in the root blkio cgroup, whose IO is the host's; only such figures are its processes'.

CPU is each member's utime + stime from /proc/PID/stat, plus cutime + cstime: the children it waited for
while a member (kernel/exit.c, wait_task_zombie, adds a reaped child's times to its parent's). A member
that exits is reaped by a member (whose cutime then holds it) or by a process outside (the `unshare`
that waits for a bare container's init): then its last figures are carried, so the container's CPU never
goes backwards. IO is /proc/PID/io's read_bytes and write_bytes, kept the same way (a reaped child's IO
is added to its parent's too). Memory is each member's proportional set size (smaps_rollup), else its
resident pages (statm). The limits are the cgroup's: they bind the container whoever else is in it.

Cost: per refresh, of the containers with a borrowed figure only, a member's stat, plus its smaps_rollup
where memory is borrowed and its io where IO is.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import procfs
from cgscope.fs.cgroup_cpu import CpuCounters
from cgscope.fs.cgroup_io import Device, IoDevice
from cgscope.fs.cgroup_memory import MemoryCounters, MemoryStat
from cgscope.fs.cgroup_pids import PidsCounters
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.process_counters import ProcessMemory, read_io, read_rollup, read_statm
from cgscope.model.borrowed import MEASURED, Figure
from cgscope.model.usage import OverviewSample, Sample

NS = 1_000_000_000
MEMBERS_DEVICE: Device = (0, 0)  # the key of the members' IO: /proc/PID/io names no device
Counters = tuple[int, int | None, int | None]  # CPU ticks, read bytes, write bytes (None: unreadable)


@dataclass(frozen=True, slots=True)
class Member:
    """One process of a container, as one refresh read it."""

    ppid: int
    counters: Counters  # its own and its reaped children's, since it started
    threads: int
    memory: ProcessMemory | None  # None: neither smaps_rollup nor statm readable


def read_member(
    host: HostRoot, pid: int, page_size: int, figures: frozenset[Figure]
) -> tuple[tuple[int, int], Member]:
    """((pid, start ticks), the member); ProcessGone once it is gone, AccessDenied for its stat. Its
    memory and IO are read only where `figures` asks for them, and are None where not asked, or where
    the kernel refuses them (they need ptrace read access) or offers none."""
    stat = procfs.read_stat(host.proc, pid)
    memory: ProcessMemory | None = None
    if "memory" in figures:
        with suppress(AccessDenied):
            memory = read_rollup(host.proc, pid)
        if memory is None:
            with suppress(AccessDenied):
                memory = read_statm(host.proc, pid, page_size)
    io: tuple[int, int] | None = None
    if "io" in figures:
        with suppress(AccessDenied):
            io = read_io(host.proc, pid)
    ticks = stat.utime + stat.stime + stat.cutime + stat.cstime
    counters: Counters = (ticks, *io) if io is not None else (ticks, None, None)
    return (pid, stat.start_ticks), Member(stat.ppid, counters, stat.num_threads, memory)


@dataclass
class Ledger:
    """One container's counters summed over its members, from one refresh to the next."""

    members: dict[tuple[int, int], Member] = field(default_factory=dict)
    carried: list[int] = field(default_factory=lambda: [0, 0, 0])  # of members gone, reaped outside
    last: list[int | None] = field(default_factory=lambda: [None, None, None])

    def total(self, now: Mapping[tuple[int, int], Member]) -> Counters:
        """The counters with `now`'s members; a member gone since the last call whose parent is no
        member any more is carried (a parent that is a member holds it in its cutime once it waits)."""
        live = {pid for pid, _ in now}
        for key, gone in self.members.items():
            if key not in now and gone.ppid not in live:
                for i, value in enumerate(gone.counters):
                    self.carried[i] += value or 0
        out: list[int | None] = []
        for i in range(3):
            values = [m.counters[i] for m in now.values()]
            known = [v for v in values if v is not None]
            total = self.carried[i] + sum(known) if len(known) == len(values) else None
            last = self.last[i]
            if total is not None and last is not None and total < last:
                self.carried[i] += last - total  # a member that went unnoticed: hold the figure
                total = last
            out.append(total)
            self.last[i] = total if total is not None else last
        self.members = dict(now)
        return out[0] or 0, out[1], out[2]


class MemberUsage:
    """Counters of the containers that share a cgroup, from their processes; keep one across
    refreshes (what a member used before it exited stays counted)."""

    def __init__(self, host: HostRoot) -> None:
        self.host = host
        self.ticks = procfs.clock_ticks()
        self.page_size = procfs.page_size()
        self._ledgers: dict[str, Ledger] = {}

    def apply(self, sample: OverviewSample) -> OverviewSample:
        """`sample`, each container's borrowed figures (model/borrowed.py) taken from its processes:
        unknown where none of them could be read (the container left out, where every figure is)."""
        containers = dict(sample.containers)
        ledgers = {}
        for w in sample.watched:
            cgroup = containers.get(w.container.id)
            if not w.borrowed or cgroup is None:
                continue
            own = None
            if w.borrowed & MEASURED:
                ledger = ledgers[w.container.id] = self._ledgers.get(w.container.id) or Ledger()
                own = self.sample(ledger, w.container.pids, cgroup, w.borrowed)
                if own is None and w.borrowed >= MEASURED:
                    del containers[w.container.id]
                    continue
            containers[w.container.id] = _take(cgroup, own, w.borrowed)
        self._ledgers = ledgers
        return replace(sample, containers=containers)

    def sample(
        self, ledger: Ledger, pids: Iterable[int], cgroup: Sample, figures: frozenset[Figure]
    ) -> Sample | None:
        """The members' counters, the cgroup's limits (`cgroup`: its sample of this refresh); memory and
        IO only where `figures` holds them (stat, for CPU and tasks, is read anyway: it names the member)."""
        members = {}
        for pid in pids:
            with suppress(ProcessGone, AccessDenied):
                key, member = read_member(self.host, pid, self.page_size, figures)
                members[key] = member
        if not members:
            return None
        taken_at = time.monotonic()
        ticks, read, written = ledger.total(members)
        cpu = CpuCounters(ticks * NS // self.ticks)
        if cgroup.cpu is not None:  # throttling is the cgroup's quota running out: it binds the container
            cpu = replace(cgroup.cpu, usage_ns=cpu.usage_ns, user_ns=None, system_ns=None)
        io = None if read is None or written is None else {MEMBERS_DEVICE: IoDevice(read, written)}
        limit = cgroup.pids.max if cgroup.pids is not None else None
        tasks = PidsCounters(sum(m.threads for m in members.values()), limit)
        memory = _memory(members.values(), cgroup.memory)
        return replace(
            cgroup, taken_at=taken_at, cpu=cpu, memory=memory, pids=tasks, io=io, from_processes=MEASURED
        )


def _take(cgroup: Sample, own: Sample | None, borrowed: frozenset[Figure]) -> Sample:
    """The cgroup's sample with the `borrowed` figures `own`'s (the processes'), or unknown where
    `own` is None; pressure, which processes do not tell, is left out where its cgroup is borrowed."""
    theirs = own or replace(cgroup, cpu=None, memory=None, pids=None, io=None)
    return replace(
        cgroup,
        taken_at=theirs.taken_at if "cpu" in borrowed else cgroup.taken_at,
        cpu=(theirs if "cpu" in borrowed else cgroup).cpu,
        memory=(theirs if "memory" in borrowed else cgroup).memory,
        pids=(theirs if "tasks" in borrowed else cgroup).pids,
        io=(theirs if "io" in borrowed else cgroup).io,
        pressure={} if "pressure" in borrowed else cgroup.pressure,
        from_processes=borrowed & MEASURED,
    )


def _memory(members: Iterable[Member], cgroup: MemoryCounters | None) -> MemoryCounters | None:
    """The members' memory against the cgroup's limits; None where a member's is unknown."""
    figures = [m.memory for m in members]
    if any(f is None for f in figures):
        return None
    known = [f for f in figures if f is not None]
    swaps = [f.swap for f in known]
    swap = None if any(s is None for s in swaps) else sum(s for s in swaps if s is not None)
    stat = MemoryStat(
        anon=sum(f.anon for f in known), file=sum(f.file for f in known), shmem=sum(f.shmem for f in known)
    )
    return MemoryCounters(
        sum(f.resident for f in known),
        stat,
        cgroup.limit if cgroup is not None else None,
        swap,
        cgroup.swap_limit if cgroup is not None and swap is not None else None,
        None,  # the cgroup's OOM kills may be anyone's in it
    )
