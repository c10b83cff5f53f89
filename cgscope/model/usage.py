"""Raw samples: what a cgroup (or the host) has used so far, read at one monotonic time, and the processes
of one container. Nothing here computes a rate: two samples make one in model/derive.py.

Cost grows with what is shown: a sample of a container reads a few files of its cgroups (the limits of
its ancestors once per round, shared by their children); per-process files are read only for the one
container `cgscope top CONTAINER` shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeVar, cast

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import cgroup_cpu, cgroup_io, cgroup_memory, cgroupfs, procfs, system
from cgscope.fs.cgroup_cpu import CpuCounters
from cgscope.fs.cgroup_io import Device, IoDevice
from cgscope.fs.cgroup_memory import MemoryCounters
from cgscope.fs.cgroup_pids import PidsCounters, read_pids_current, read_pids_max
from cgscope.fs.files import file_identity
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.pressure import PSI_SECONDS, KeptPressure, Pressure, read_host_pressure
from cgscope.fs.status import Task, read_tasks
from cgscope.fs.system import HostTexts, read_host_texts
from cgscope.model.borrowed import Figure, borrowed
from cgscope.model.cgdirs import CgroupDirs, Located, locate
from cgscope.model.collect import Collector
from cgscope.model.containers import Container, Inventory, group_containers, shares_cgroup

T = TypeVar("T")
LIMIT_ROUNDS = 10  # the host's task limits are read again after this many rounds


@dataclass(frozen=True)
class Sample:
    """Counters of one cgroup (or of the whole host) at `taken_at` (time.monotonic())."""

    taken_at: float
    cpu: CpuCounters | None
    cpus: tuple[int, ...]  # the effective cpuset: CPUs it may run on
    quota: float | None  # the smallest CFS quota on the path to the root, in CPUs; None: no quota
    memory: MemoryCounters | None  # limits: the smallest on the path to the root, as the kernel applies them
    pids: PidsCounters | None  # max: the smallest on the path
    io: Mapping[Device, IoDevice] | None
    pressure: Mapping[str, Pressure] = field(default_factory=dict)  # "cpu", "memory", "io" where offered
    # (st_dev, st_ino) of each file whose counters make a rate: a cgroup removed and made again under
    # the same path has new files, with counters from zero. Empty for the host.
    identity: tuple[tuple[int, int], ...] = ()
    from_processes: frozenset[Figure] = frozenset()  # summed over its processes (model/member_usage.py)


class Sampler:
    """Reads samples under a HostRoot. Call new_round() before each refresh: ancestors' limits are read
    once per round, however many containers share them.

    A consumer that shows less says what it leaves out: `limits=False` reads no cpuset, CFS quota,
    memory or pids limit (a sample's cpus are (), its quota and limits None: the caller reads them, as
    the exporter does, kept for seconds), `io=False` no blkio/io.stat and no /proc/diskstats;
    `slow=False` no cgroup PSI nor memory.events (v1 memory.oom_control; oom_kills None), for a caller
    that reads them on a timer of its own; `identity=False` no identity of the counters' files (it
    makes no rates).
    `limits_seconds`: the limits (cpuset, CFS quota, v2 memory.max and swap.max, pids.max) are read
    again once that old, not every round (a write to one shows within that time); v1's memory limits
    come with memory.stat, read every round."""

    def __init__(
        self,
        host: HostRoot,
        limits: bool = True,
        io: bool = True,
        limits_seconds: float = 0.0,
        *,
        slow: bool = True,
        identity: bool = True,
    ) -> None:
        self.host = host
        self.limits, self.io, self.slow, self.identity = limits, io, slow, identity
        self.limits_seconds = limits_seconds
        self.ticks = procfs.clock_ticks()
        self.online = system.read_online(host)
        self._limits: dict[tuple[Path, str], object] = {}
        self._limits_read_at = -float("inf")  # time.monotonic() when _limits began to fill
        self._io_read: dict[Path, Mapping[Device, IoDevice] | None] = {}  # this round's, by directory
        self.pressure = KeptPressure(PSI_SECONDS if host.is_live else 0.0)  # read once they may move
        self._cpu_lines: frozenset[int] = frozenset()
        self._tasks_limit: tuple[int, int] | None = None  # (round read, the limit)
        self._round = 0

    def forget_limits(self) -> None:
        """Read the limits again next round (the caller changed one)."""
        self._limits_read_at = -float("inf")

    def new_round(self) -> None:
        now = time.monotonic()
        if now - self._limits_read_at >= self.limits_seconds:
            self._limits.clear()
            self._limits_read_at = now
        self._io_read.clear()
        self._round += 1

    def _once(self, directory: Path, what: str, read: Callable[[Path], T]) -> T:
        """read(directory), once per round."""
        key = (directory, what)
        if key not in self._limits:
            self._limits[key] = read(directory)
        return cast(T, self._limits[key])

    def _smallest(self, where: Located, what: str, read: Callable[[Path], float | None]) -> float | None:
        """The smallest limit on the path to the root (a limit an ancestor sets binds its children),
        worked out once while the limits are kept."""

        def smallest(directory: Path) -> float | None:
            limits = [v for d in where.path_to_root if (v := self._once(d, what, read)) is not None]
            return min(limits) if limits else None

        return self._once(where.directory, f"smallest {what}", smallest)

    def cgroup(self, dirs: CgroupDirs) -> Sample:
        """One cgroup's counters; ProcessGone if it was removed meanwhile."""
        cpu, used, quota_at = None, dirs.usage, dirs.cpu
        if used is not None and used.version == 2:
            cpu = cgroup_cpu.read_cpu_v2(used.directory)
            if quota_at is not None and quota_at.version == 1:  # hybrid: throttling is v1's cpu.stat
                cpu = cgroup_cpu.with_throttling_v1(cpu, quota_at.directory)
        elif used is not None:
            cpu = cgroup_cpu.read_cpu_v1(used.directory, quota_at.directory if quota_at else None)
        taken_at = time.monotonic()
        quota = None
        if dirs.cpu is not None and self.limits:
            read_quota = partial(cgroup_cpu.read_quota, version=dirs.cpu.version)
            quota = self._smallest(dirs.cpu, "quota", read_quota)
        io = self._io(dirs.io)
        return Sample(
            taken_at,
            cpu,
            self._cpuset(dirs.cpuset),
            quota,
            self._memory(dirs.memory),
            self._pids(dirs.pids),
            io,
            self.pressure.read(dirs.unified) if dirs.unified is not None and self.slow else {},
            self._identity(dirs, io is not None) if self.identity else (),
        )

    @staticmethod
    def _identity(dirs: CgroupDirs, io: bool) -> tuple[tuple[int, int], ...]:
        """The identity of each file a rate is made of, taken once they are read (fs/files.file_identity:
        no syscall for a file kept open)."""
        used, quota_at = dirs.usage, dirs.cpu
        paths = {cgroup_cpu.usage_file(used.directory, used.version)} if used is not None else set()
        if quota_at is not None and quota_at.version == 1:
            paths.add(cgroup_cpu.throttling_file_v1(quota_at.directory))
        if io and dirs.io is not None:
            paths.add(cgroup_io.io_file(dirs.io.directory, dirs.io.version))
        return tuple(file_identity(p) for p in sorted(paths))

    def _io(self, where: Located | None) -> Mapping[Device, IoDevice] | None:
        """A directory's I/O, read once per round: on v1, containers that never joined a blkio cgroup
        (bare ones, most often) are all in that hierarchy's root, one read for all of them (the host's
        IO: model/member_usage.py puts their processes' in its place)."""
        if where is None or not self.io:
            return None
        if where.directory not in self._io_read:
            self._io_read[where.directory] = cgroup_io.read_io(where.directory, where.version)
        return self._io_read[where.directory]

    def _cpuset(self, where: Located | None) -> tuple[int, ...]:
        """The effective cpuset: a v2 cgroup without +cpuset has its nearest ancestor's; the host's
        online CPUs where no hierarchy holds the cpuset controller."""
        if not self.limits:
            return ()
        if where is not None:
            read = partial(cgroup_cpu.read_cpuset, version=where.version)

            def nearest(directory: Path) -> tuple[int, ...] | None:
                found = (self._once(d, "cpuset", read) for d in where.path_to_root)
                return next((cpus for cpus in found if cpus is not None), None)

            cpus = self._once(where.directory, "nearest cpuset", nearest)
            if cpus is not None:
                return cpus
        return self.online

    def _memory(self, where: Located | None) -> MemoryCounters | None:
        if where is None:
            return None
        if where.version == 1:  # memory.stat's hierarchical limits are the smallest on the path already
            return cgroup_memory.read_memory_v1(where.directory, self.slow)
        counters = cgroup_memory.read_memory_v2(where.directory, self.slow)
        if counters is None or not self.limits:
            return counters
        limit = self._smallest(where, "memory limit", cgroup_memory.read_memory_max)
        swap = self._smallest(where, "swap limit", cgroup_memory.read_swap_max)
        return replace(
            counters,
            limit=None if limit is None else int(limit),
            swap_limit=None if swap is None or counters.swap is None else int(swap),
        )

    def _pids(self, where: Located | None) -> PidsCounters | None:
        current = read_pids_current(where.directory) if where is not None else None
        if where is None or current is None:
            return None
        limit = self._smallest(where, "pids limit", read_pids_max) if self.limits else None
        return PidsCounters(current, None if limit is None else int(limit))

    def host_sample(self, figures: system.HostFigures | None = None) -> Sample:
        """The whole host: /proc/stat, meminfo, loadavg (`figures`, where the refresh read them already),
        vmstat, diskstats, /proc/pressure."""
        host = self.host
        f = figures or system.read_host_figures(host, uptime=False)
        total, per_cpu = system.known(f.times)
        if per_cpu.keys() != self._cpu_lines:  # a "cpuN" line per online CPU (fs/proc/stat.c): hotplug
            self.online = system.read_online(host) if self._cpu_lines else self.online
            self._cpu_lines = frozenset(per_cpu)
        memory = system.host_memory(system.known(f.memory_kb), system.read_oom_kills(host))
        io = {(d.major, d.minor): system.disk_io(d) for d in system.read_disks(host)} if self.io else None
        return Sample(
            f.taken_at,
            CpuCounters(system.busy_ticks(total) * 1_000_000_000 // self.ticks),
            self.online,
            None,
            memory,
            PidsCounters(system.known(f.load).tasks, self._task_limit()),
            io,
            read_host_pressure(host),
        )

    def _task_limit(self) -> int:
        """kernel.pid_max and threads-max change by sysctl alone, which leaves no cheaper sign than the
        files themselves: read every LIMIT_ROUNDS rounds."""
        if self._tasks_limit is None or self._round - self._tasks_limit[0] >= LIMIT_ROUNDS:
            self._tasks_limit = (self._round, system.read_pid_limit(self.host))
        return self._tasks_limit[1]


# -- the containers of the overview --------------------------------------------------------------------


@dataclass(frozen=True)
class Watched:
    """A container and where its counters are."""

    container: Container
    dirs: CgroupDirs
    shared: bool  # its cgroup is the root or holds other processes too: the counters are not its alone
    borrowed: frozenset[Figure] = frozenset()  # figures whose cgroup is not its own (model/borrowed.py)


@dataclass(frozen=True)
class OverviewSample:
    host: Sample
    containers: Mapping[str, Sample]  # by container id; a container whose cgroup went away is left out
    watched: tuple[Watched, ...]
    inventory: Inventory


class Overview:
    """Every container's counters, refreshed cheaply.

    Containers are found (model/containers.py) at the first sample, then as `regroup` says at each walk
    of the primary hierarchy: by default again only when its tree changed, which misses a container
    whose cgroup came before its processes, or a bare one started in a cgroup that was there (the
    refreshing callers pass sampling/grouping.KeptGrouping's, which watches the processes too). Between
    discoveries a sample costs one walk of that tree and a few files per container cgroup.
    """

    def __init__(
        self,
        host: HostRoot,
        collector: Collector | None = None,
        sampler: Sampler | None = None,
        regroup: Callable[[Sequence[Path]], Inventory] | None = None,
    ) -> None:
        """`collector`: one the caller keeps (the dashboard's, which forgets what it caches itself);
        `sampler`: one reading only what the caller shows; `regroup`: the containers, given the walk
        of the primary hierarchy, grouped with `collector`."""
        self.host = host
        self._owns_collector = collector is None or regroup is not None
        self.collector = collector or Collector(host)
        self.sampler = sampler or Sampler(host)
        self._regroup = regroup or self._when_tree_changed
        self._tree: tuple[Path, ...] | None = None
        self._walked: cgroupfs.Walked | None = None  # the primary hierarchy as this sample walked it
        self._directories: dict[str, Path | None] = {}  # each container's in the primary hierarchy
        self._watched: tuple[Watched, ...] = ()
        self._inventory: Inventory | None = None

    def _when_tree_changed(self, tree: Sequence[Path]) -> Inventory:
        if self._inventory is None or tuple(tree) != self._tree:
            self._tree = tuple(tree)
            return group_containers(self.host, self.collector, walked=tree)
        return self._inventory

    def follow(self, inv: Inventory) -> None:
        """Sample the containers of `inv` (grouped this refresh) from now on; where they are is worked out
        again only when they changed."""
        if inv is self._inventory:
            return
        if self._owns_collector:  # what is cached for processes gone since is of no more use
            self.collector.retain(inv.processes.values())
        if self._inventory is None or inv.containers != self._inventory.containers:
            placed = [(c, locate(self.host, c.cgroup), shares_cgroup(self.host, c)) for c in inv.containers]
            self._watched = tuple(Watched(c, d, s, borrowed(self.host, c, d, s)) for c, d, s in placed)
            self._directories = {}
        self._inventory = inv

    def sample(
        self,
        figures: system.HostFigures | None = None,
        inventory: Inventory | None = None,
        walk: bool = True,
        skip: Collection[str] = (),
    ) -> OverviewSample:
        """`figures`, `inventory`: the host's files and its containers as the caller read them this
        refresh; else read here (`regroup`). `walk=False`: not walked, the containers last found (a
        removed one has no counters). `skip`: ids of containers whose counters are not read (left out)."""
        self._walked = None
        if inventory is not None:
            self.follow(inventory)
        elif walk or self._inventory is None:
            tree = tuple(cgroupfs.walk(primary.mountpoint)) if (primary := self.host.primary) else ()
            self._walked = cgroupfs.Walked(tree)
            self.follow(self._regroup(tree))
        assert self._inventory is not None
        self.sampler.new_round()
        host = self.sampler.host_sample(figures)
        samples = {}
        for w in self._watched:
            if w.container.id not in skip:
                with suppress(ProcessGone, AccessDenied):
                    samples[w.container.id] = self.sampler.cgroup(w.dirs)
        return OverviewSample(host, samples, self._watched, self._inventory)

    def members(self, watched: Watched) -> list[int]:
        """The container's processes now: its cgroup's, when the cgroup is its own."""
        c = watched.container
        if c.id not in self._directories:  # kept while the containers do not change
            primary = self.host.primary
            path = c.cgroup.get(primary.key) if primary is not None else None
            self._directories[c.id] = primary.directory(path) if primary and path is not None else None
        directory = self._directories[c.id]
        if watched.shared or directory is None:
            return list(watched.container.pids)
        return sorted(cgroupfs.subtree_procs(directory, walked=self._walked))


@dataclass(frozen=True)
class ViewInputs:
    """Everything model/procview needs to write a container's LXCFS-style files."""

    host: HostTexts
    sample: Sample  # the container's cgroup counters
    percpu: Mapping[int, tuple[int, int]] | None  # v1 cpuacct per-CPU (user, system) ns; None on v2
    swappiness: int | None  # v1 memory.swappiness; None on v2
    init_start_ticks: int  # the container's init start time, clock ticks after boot (for uptime)
    tasks: tuple[Task, ...]  # the container's threads (for loadavg and procs_running)
    ticks: int  # clock ticks per second


def read_view(
    host: HostRoot,
    cgroups: Mapping[str, str],
    init_start_ticks: int,
    pids: Iterable[int],
    kept: tuple[Sampler, Sample | None] | None = None,
) -> ViewInputs:
    """Everything the LXCFS-style files of a cgroup need, its processes' threads included; `kept`: the
    caller's Sampler and the cgroup's sample of this round, where it read one already."""
    sampler, sample = kept or (Sampler(host), None)
    dirs = locate(host, cgroups)
    sample = sample or sampler.cgroup(dirs)
    percpu = None
    if dirs.usage is not None and dirs.usage.version == 1:
        percpu = cgroup_cpu.read_percpu_v1(dirs.usage.directory)
    swappiness = None
    if dirs.memory is not None and dirs.memory.version == 1:
        swappiness = cgroup_memory.read_swappiness(dirs.memory.directory)
    tasks: list[Task] = []
    for pid in pids:
        with suppress(ProcessGone, AccessDenied):
            tasks += read_tasks(host.proc, pid)
    return ViewInputs(
        read_host_texts(host, sampler.online),
        sample,
        percpu,
        swappiness,
        init_start_ticks,
        tuple(tasks),
        sampler.ticks,
    )
