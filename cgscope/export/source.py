"""What the exporter reports, as plain values: the one module that reads cgscope's core for it.

Today it reads the core through model/usage.Overview (one walk of the primary hierarchy, a few files per
container cgroup) and a few files of each container's own cgroup that the core does not keep (fs/cgspec:
its own quota, weight and limits, v1's user/system split and failcnt, v2's memory.events). Everything
else in cgscope/export works on the `Reading` this module returns, so that moving to another core is a
change here only.

Figures are raw counters (Prometheus computes rates), and a figure that a cgroup version does not have
is None: its series is left out, never given as 0. A container that does not own its cgroup (the root
cgroup, or a bare container's cgroup that holds other processes too) gets only its info series: the
cgroup's counters are not its own. One that owns its cgroup in the primary hierarchy but not in another
(cgroup v1: a bare container in a memory cgroup of its own, left in the root pids cgroup) has that
hierarchy's counters left out the same way (model/borrowed.py), its limits kept: they bind it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.export.settings import KeptSettings
from cgscope.fs import cgspec
from cgscope.fs import pressure as fs_pressure
from cgscope.fs.cgroup_memory import read_oom_kills_v1
from cgscope.fs.files import KeptFiles, keeping
from cgscope.fs.hostroot import HostRoot
from cgscope.model.borrowed import MEASURED_ORDER, Figure
from cgscope.model.collect import Collector
from cgscope.model.containers import Container
from cgscope.model.derive import memory_allowance
from cgscope.model.procview import visible_cpu_set
from cgscope.model.runtimes import KeptStates
from cgscope.model.usage import Overview, OverviewSample, Sample, Sampler, Watched
from cgscope.sampling.grouping import UNWATCHED_REGROUP_SECONDS, KeptGrouping

NS = 1e9
# A cgroup's own settings (CFS quota, period and weight, memory.max, pids.max) are read again at most
# this often, as cAdvisor reads a container's spec (manager/container.go, GetInfo): they change when
# someone changes them, the counters on every scrape. Five files a container fewer on most scrapes.
SPEC_SECONDS = 5.0
# What is read at most this often rather than on every reading (docs/export.md, "Staleness"): each
# container's PSI files, memory events (v2 memory.events; v1 memory.oom_control and memory.failcnt)
# and cgroup.procs (container_processes), and the walk of the primary hierarchy with the pid listing
# that tell whether containers came or went (sampling/grouping.KeptGrouping; grouping them costs ~40 ms
# of CPU at 200 containers, and a busy host's processes change every second: cAdvisor's answer to the
# same cost is a housekeeping interval). Six
# files a container fewer on most readings. CPU, memory usage and tasks are read on every one but an
# idle container's (_Read.idle), whose are read again with the slow figures; a container removed
# meanwhile has no counters at once where they were read (its files are gone), a new one its series
# within this time.
SLOW_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Labels:
    """cAdvisor's labels of a cgroup's series; "" where there is nothing to say (left out)."""

    id: str  # the cgroup path in the primary hierarchy ("/" for the host)
    name: str = ""
    image: str = ""
    container: str = ""  # Kubernetes: the container's name in its pod; "POD" for the pod's sandbox
    pod: str = ""
    namespace: str = ""


@dataclass(frozen=True, slots=True)
class Pressure:
    """One PSI file's totals (seconds) and 10 s averages (ratios); "full" is None where the kernel has
    no such line (cpu.pressure before Linux 5.13)."""

    waiting: float  # "some": time at least one task stalled
    stalled: float | None  # "full": time every task stalled at once
    waiting_avg10: float
    stalled_avg10: float | None


@dataclass(frozen=True, slots=True)
class Figures:
    """One cgroup's figures (or the host's); None where the cgroup or its version has no such figure."""

    cpu_seconds: float | None = None
    cpu_user_seconds: float | None = None
    cpu_system_seconds: float | None = None
    cfs_periods: int | None = None
    cfs_throttled_periods: int | None = None
    cfs_throttled_seconds: float | None = None
    memory_usage: int | None = None
    memory_working_set: int | None = None
    memory_rss: int | None = None
    memory_cache: int | None = None
    memory_swap: int | None = None
    memory_mapped_file: int | None = None
    memory_failcnt: int | None = None
    oom_kills: int | None = None
    memory_events: Mapping[str, int] = field(default_factory=dict)
    spec_cpu_quota: int | None = None  # microseconds per period; None: no quota
    spec_cpu_period: int | None = None
    spec_cpu_shares: int | None = None
    spec_memory_limit: int | None = None  # 0 for no limit, as cAdvisor reports it
    processes: int | None = None
    threads: int | None = None
    threads_max: int | None = None  # 0 for no limit
    pressure: Mapping[str, Pressure] = field(default_factory=dict)  # "cpu", "memory", "io"
    start_time: float | None = None  # unix seconds
    last_seen: float | None = None  # unix seconds: when this reading was taken
    visible_cpus: int | None = None  # what nproc should say inside (the LXCFS view)
    visible_memory: int | None = None  # what free should say inside: MemTotal


@dataclass(frozen=True, slots=True)
class Info:
    """What cgscope knows of a container, its cgroup's counters its own or not."""

    labels: Labels
    container_id: str
    runtime: str
    init_pid: int
    shared_namespaces: str  # namespace types shared with the host, comma-separated
    shared_cgroup: bool
    borrowed: str  # the figures whose cgroup is not its own (model/borrowed.py), comma-separated


@dataclass(frozen=True)
class Reading:
    taken_at: float  # unix seconds
    seconds: float  # how long reading the host took
    cpu_cores: int
    memory_bytes: int
    host: Figures
    cgroups: tuple[tuple[Labels, Figures], ...]
    containers: tuple[Info, ...]


@dataclass(frozen=True, slots=True)
class Slow:
    """A container cgroup's figures read every `slow_seconds` (SLOW_SECONDS), not on every reading."""

    processes: int
    pressure: Mapping[str, Pressure]
    oom_kills: int | None
    memory_events: Mapping[str, int]
    failcnt: int | None  # v1 memory.failcnt


@dataclass(frozen=True, slots=True)
class _Read:
    """A container's counters and figures as a reading served them; `idle`: its counters read as they did
    the reading before, so that the next readings serve them again until the slow figures are due."""

    counters: Sample
    figures: Figures
    idle: bool


def _same(before: Sample, now: Sample) -> bool:
    """Whether a cgroup's counters read as before: no CPU used, memory charged or task started."""
    return before.cpu == now.cpu and before.memory == now.memory and before.pids == now.pids


class Source:
    """Reads the host for the exporter; keep one across scrapes (what does not change is cached, the
    cgroups' own settings for up to `spec_seconds`, the figures of Slow for up to `slow_seconds`).

    It reads only what it serves: no blkio/io.stat nor /proc/diskstats (no io series), and the settings
    (cpuset, quotas, limits) through export/settings.KeptSettings rather than the core's every round."""

    def __init__(
        self, host: HostRoot, spec_seconds: float = SPEC_SECONDS, slow_seconds: float = SLOW_SECONDS
    ) -> None:
        self.host = host
        sampler = Sampler(host, limits=False, io=False, slow=False, identity=False)
        collector = Collector(host)
        grouping = KeptGrouping(host, collector, KeptStates(host), UNWATCHED_REGROUP_SECONDS)
        self.overview = Overview(host, collector, sampler, regroup=grouping.group)
        self.settings = KeptSettings(spec_seconds)
        self.slow_seconds = slow_seconds
        self._slow: dict[str, Slow] = {}  # by container id, read at _slow_at
        self._last: dict[str, _Read] = {}  # by container id, as the last reading served it
        self._slow_at = -float("inf")
        # the files read, kept open while they are read at least every slow_seconds or spec_seconds
        self.files = KeptFiles(keep_seconds=2 * max(slow_seconds, spec_seconds))

    def read(self) -> Reading:
        with keeping(self.files):
            return self._read()

    def _read(self) -> Reading:
        start = time.monotonic()
        due = start - self._slow_at >= self.slow_seconds
        last, self._last = self._last, {}
        idle = frozenset() if due else frozenset(cid for cid, kept in last.items() if kept.idle)
        sample = self.overview.sample(walk=due, skip=idle)
        now = time.time()  # the reading's time: each cgroup's container_last_seen
        self.settings.round(w.dirs.cpu.directory for w in sample.watched if w.dirs.cpu is not None)
        kept, self._slow = ({} if due else self._slow), {}
        self._slow_at = start if due else self._slow_at
        cgroups, infos, ids = [], [], {"/"}
        for w in sample.watched:
            cid = w.container.id
            labels = _labels(w.container, self._cgroup_path(w.container))
            infos.append(_info(labels, w))
            if w.shared or labels.id in ids:
                continue
            if cid in idle:  # its counters as last read, seen now
                read = _Read(last[cid].counters, replace(last[cid].figures, last_seen=now), True)
                self._slow[cid] = kept[cid]
            else:
                counters = sample.containers.get(cid)
                if counters is None:
                    continue
                try:
                    slow = kept.get(cid) or self._read_slow(w)
                    figures = self._figures(w, counters, slow, sample, now)
                except (ProcessGone, AccessDenied):  # removed since the sample: left out
                    continue
                self._slow[cid] = slow
                figures = _without(figures, w.borrowed) if w.borrowed else figures
                before = last.get(cid)
                read = _Read(counters, figures, before is not None and _same(before.counters, counters))
            cgroups.append((labels, read.figures))
            self._last[cid] = read
            ids.add(labels.id)
        host = sample.host
        memory = host.memory.limit if host.memory is not None and host.memory.limit else 0
        return Reading(
            now,
            time.monotonic() - start,
            len(self.overview.sampler.online),
            memory,
            self._host(host, now),
            tuple(cgroups),
            tuple(infos),
        )

    def _cgroup_path(self, c: Container) -> str:
        primary = self.host.primary
        path = c.cgroup.get(primary.key) if primary is not None else None
        return path or next(iter(c.cgroup.values()), "")

    def _read_slow(self, w: Watched) -> Slow:
        d, m = w.dirs, w.dirs.memory
        pressure = fs_pressure.read_pressure(d.unified) if d.unified is not None else {}
        oom = failcnt = None
        events: Mapping[str, int] = {}
        if m is not None and m.version == 1:
            oom, failcnt = read_oom_kills_v1(m.directory), cgspec.read_failcnt(m.directory)
            events = {} if oom is None else {"oom_kill": oom}
        elif m is not None:
            events = cgspec.read_memory_events(m.directory) or {}
            oom = events.get("oom_kill")
        # its members as grouped this round: a walk (they are read only when it is due) groups again when
        # a container cgroup's cgroup.procs changed (sampling/grouping.py), so they are as read now
        processes = len(w.container.pids)
        return Slow(processes, {kind: _pressure(p) for kind, p in pressure.items()}, oom, events, failcnt)

    def _figures(self, w: Watched, s: Sample, slow: Slow, sample: OverviewSample, now: float) -> Figures:
        d, sampler = w.dirs, self.overview.sampler
        spec = self.settings.of(d, sampler.online)
        m = s.memory
        if m is not None and spec.memory_bound is not None:  # v2: the smallest memory.max on the path
            s = replace(s, memory=replace(m, limit=spec.memory_bound))
        cpuacct = d.usage.directory if d.usage is not None and d.usage.version == 1 else None
        cpu = spec.cpu
        init = sample.inventory.processes.get(w.container.init_pid)
        return _counters(
            s,
            sampler.ticks,
            cpuacct,
            spec_memory_limit=spec.memory_limit if m is not None else None,
            memory_failcnt=slow.failcnt if m is not None else None,
            oom_kills=slow.oom_kills if m is not None else None,
            memory_events=slow.memory_events if m is not None else {},
            spec_cpu_quota=None if cpu is None else cpu.quota_us,
            spec_cpu_period=None if cpu is None else cpu.period_us,
            spec_cpu_shares=None if cpu is None else cpu.shares,
            processes=slow.processes,
            threads_max=spec.threads_max if s.pids else None,
            pressure=slow.pressure,
            start_time=init.start_time if init is not None else None,
            visible_cpus=len(visible_cpu_set(spec.cpus, sampler.online, spec.quota)),
            visible_memory=memory_allowance(s, sample.host),
            last_seen=now,
        )

    def _host(self, s: Sample, now: float) -> Figures:
        """The host as the root cgroup: /proc/stat, meminfo, vmstat, loadavg and /proc/pressure."""
        m = s.memory
        return _counters(
            s,
            self.overview.sampler.ticks,
            None,
            oom_kills=None if m is None else m.oom_kills,
            memory_events={} if m is None or m.oom_kills is None else {"oom_kill": m.oom_kills},
            threads_max=s.pids.max if s.pids is not None else None,
            pressure={kind: _pressure(p) for kind, p in s.pressure.items()},
            visible_cpus=len(s.cpus),
            visible_memory=m.limit if m is not None else None,
            last_seen=now,
        )


def _labels(c: Container, cgroup_path: str) -> Labels:
    pod = c.pod
    if pod is None:
        return Labels(cgroup_path, c.name, c.image or "")
    container = pod.container or ("POD" if pod.name else "")  # the sandbox, as kubelet labels it
    return Labels(cgroup_path, c.name, c.image or "", container, pod.name or "", pod.namespace or "")


def _info(labels: Labels, w: Watched) -> Info:
    c = w.container
    borrowed = ",".join(f for f in (*MEASURED_ORDER, "pressure") if f in w.borrowed)
    return Info(labels, c.id, c.runtime, c.init_pid, ",".join(c.shared_with_host), w.shared, borrowed)


# The counters each borrowed figure's hierarchy gives (model/borrowed.py); CFS throttling is the cpu
# controller's, not cpuacct's, and limits bind the container wherever they are.
_BORROWED_FIELDS: Mapping[Figure, tuple[str, ...]] = {
    "cpu": ("cpu_seconds", "cpu_user_seconds", "cpu_system_seconds"),
    "memory": ("memory_usage", "memory_working_set", "memory_rss", "memory_cache", "memory_swap",
               "memory_mapped_file", "memory_failcnt", "oom_kills"),
    "tasks": ("threads",),
    "io": (),  # no io series
    "pressure": (),
}  # fmt: skip


def _without(f: Figures, borrowed: frozenset[Figure]) -> Figures:
    """`f` without the counters of the hierarchies whose cgroup is not the container's own."""
    blank: dict[str, Any] = {name: None for figure in borrowed for name in _BORROWED_FIELDS[figure]}
    if "memory" in borrowed:
        blank["memory_events"] = {}
    if "pressure" in borrowed:
        blank["pressure"] = {}
    return replace(f, **blank)


def _counters(s: Sample, ticks: int, cpuacct_v1: Path | None, **more: Any) -> Figures:
    """The figures of CPU, memory and tasks every cgroup sample carries, with `more` of Figures' own."""
    cpu, m = s.cpu, s.memory
    user = system = None
    if cpu is not None and cpu.user_ns is not None and cpu.system_ns is not None:
        user, system = cpu.user_ns / NS, cpu.system_ns / NS
    elif cpuacct_v1 is not None:
        split = cgspec.read_cpuacct_stat(cpuacct_v1)
        if split is not None:
            user, system = split[0] / ticks, split[1] / ticks
    return Figures(
        cpu_seconds=None if cpu is None else cpu.usage_ns / NS,
        cpu_user_seconds=user,
        cpu_system_seconds=system,
        cfs_periods=cpu.periods if cpu is not None else None,
        cfs_throttled_periods=cpu.throttled_periods if cpu is not None else None,
        cfs_throttled_seconds=None if cpu is None or cpu.throttled_ns is None else cpu.throttled_ns / NS,
        memory_usage=None if m is None else m.usage,
        memory_working_set=None if m is None else m.working_set,
        memory_rss=None if m is None else m.stat.anon,
        memory_cache=None if m is None else m.stat.file,
        memory_swap=None if m is None else m.swap,
        memory_mapped_file=None if m is None else m.stat.mapped,
        threads=None if s.pids is None else s.pids.current,
        **more,
    )


def _pressure(p: fs_pressure.Pressure) -> Pressure:
    full = p.full
    return Pressure(
        p.some.total_us / 1e6,
        None if full is None else full.total_us / 1e6,
        p.some.avg10 / 100,
        None if full is None else full.avg10 / 100,
    )
