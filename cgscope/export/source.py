"""What the exporter reports, as plain values: the one module that reads cgscope's core for it.

Today it reads the core through model/usage.Overview (one walk of the primary hierarchy, a few files per
container cgroup) and a few files of each container's own cgroup that the core does not keep (fs/cgspec:
its own quota, weight and limits, v1's user/system split and failcnt, v2's memory.events). Everything
else in cgscope/export works on the `Reading` this module returns, so that moving to another core is a
change here only.

Figures are raw counters (Prometheus computes rates), and a figure that a cgroup version does not have
is None: its series is left out, never given as 0. A container that does not own its cgroup (the root
cgroup, or a bare container's cgroup that holds other processes too) gets only its info series: the
cgroup's counters are not its own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import cgspec
from cgscope.fs import pressure as fs_pressure
from cgscope.fs.files import read_optional
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.parse import limit_value
from cgscope.model.cgdirs import Located
from cgscope.model.containers import Container
from cgscope.model.derive import derive, memory_allowance
from cgscope.model.procview import visible_cpu_set
from cgscope.model.usage import Overview, OverviewSample, Sample, Watched

NS = 1e9
# A cgroup's own settings (CFS quota, period and weight, memory.max, pids.max) are read again at most
# this often, as cAdvisor reads a container's spec (manager/container.go, GetInfo): they change when
# someone changes them, the counters on every scrape. Five files a container fewer on most scrapes.
SPEC_SECONDS = 5.0


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
class _Spec:
    """A container cgroup's own settings, as read at `read_at` (time.monotonic())."""

    read_at: float
    cpu: cgspec.CpuSpec | None
    memory_limit: int | None  # 0: none
    threads_max: int | None  # 0: none


class Source:
    """Reads the host for the exporter; keep one across scrapes (what does not change is cached, and the
    cgroups' own settings for up to `spec_seconds`)."""

    def __init__(self, host: HostRoot, spec_seconds: float = SPEC_SECONDS) -> None:
        self.host = host
        self.overview = Overview(host)
        self.spec_seconds = spec_seconds
        self._specs: dict[str, _Spec] = {}  # by container id

    def read(self) -> Reading:
        start = time.monotonic()
        sample = self.overview.sample()
        now = time.time()  # the reading's time: each cgroup's container_last_seen
        cgroups, infos, ids = [], [], {"/"}
        for w in sample.watched:
            labels = _labels(w.container, self._cgroup_path(w.container))
            infos.append(_info(labels, w))
            counters = sample.containers.get(w.container.id)
            if counters is None or w.shared or labels.id in ids:
                continue
            with suppress(ProcessGone, AccessDenied):  # removed since the sample: left out
                cgroups.append((labels, self._figures(w, counters, sample, now)))
                ids.add(labels.id)
        self._specs = {w.container.id: self._specs[w.container.id] for w in sample.watched
                       if w.container.id in self._specs}  # fmt: skip
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

    def _figures(self, w: Watched, s: Sample, sample: OverviewSample, now: float) -> Figures:
        d, sampler = w.dirs, self.overview.sampler
        cpuacct = d.usage.directory if d.usage is not None and d.usage.version == 1 else None
        failcnt, events = _memory_counts(d.memory) if s.memory is not None else (None, None)
        spec = self._spec(w)
        cpu = spec.cpu
        init = sample.inventory.processes.get(w.container.init_pid)
        f = _counters(s, sampler.ticks, cpuacct)
        return replace(
            f,
            spec_memory_limit=spec.memory_limit if s.memory is not None else None,
            memory_failcnt=failcnt,
            memory_events=f.memory_events if events is None else events,
            spec_cpu_quota=None if cpu is None else cpu.quota_us,
            spec_cpu_period=None if cpu is None else cpu.period_us,
            spec_cpu_shares=None if cpu is None else cpu.shares,
            processes=len(self.overview.members(w)),
            threads_max=spec.threads_max if s.pids else None,
            start_time=init.start_time if init is not None else None,
            visible_cpus=len(visible_cpu_set(s.cpus, sampler.online, s.quota)),
            visible_memory=memory_allowance(s, sample.host),
            last_seen=now,
        )

    def _spec(self, w: Watched) -> _Spec:
        """The container cgroup's own settings, read again once they are spec_seconds old."""
        now, known = time.monotonic(), self._specs.get(w.container.id)
        if known is not None and now - known.read_at < self.spec_seconds:
            return known
        d = w.dirs
        spec = _Spec(
            now,
            cgspec.read_cpu_spec(d.cpu.directory, d.cpu.version) if d.cpu is not None else None,
            _memory_limit(d.memory),
            _limit(d.pids.directory, "pids.max") if d.pids is not None else None,
        )
        self._specs[w.container.id] = spec
        return spec

    def _host(self, s: Sample, now: float) -> Figures:
        """The host as the root cgroup: /proc/stat, meminfo, vmstat, loadavg and /proc/pressure."""
        return replace(
            _counters(s, self.overview.sampler.ticks, None),
            threads_max=s.pids.max if s.pids is not None else None,
            visible_cpus=len(s.cpus),
            visible_memory=s.memory.limit if s.memory is not None else None,
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
    return Info(labels, c.id, c.runtime, c.init_pid, ",".join(c.shared_with_host), w.shared)


def _counters(s: Sample, ticks: int, cpuacct_v1: Path | None) -> Figures:
    """The figures every cgroup sample carries: CPU, memory, tasks, pressure."""
    cpu, m = s.cpu, s.memory
    user = system = None
    if cpu is not None and cpu.user_ns is not None and cpu.system_ns is not None:
        user, system = cpu.user_ns / NS, cpu.system_ns / NS
    elif cpuacct_v1 is not None:
        split = cgspec.read_cpuacct_stat(cpuacct_v1)
        if split is not None:
            user, system = split[0] / ticks, split[1] / ticks
    memory = derive(None, s, 0.0).memory
    return Figures(
        cpu_seconds=None if cpu is None else cpu.usage_ns / NS,
        cpu_user_seconds=user,
        cpu_system_seconds=system,
        cfs_periods=cpu.periods if cpu is not None else None,
        cfs_throttled_periods=cpu.throttled_periods if cpu is not None else None,
        cfs_throttled_seconds=None if cpu is None or cpu.throttled_ns is None else cpu.throttled_ns / NS,
        memory_usage=None if m is None else m.usage,
        memory_working_set=None if memory is None else memory.working_set_bytes,
        memory_rss=None if m is None else m.stat.anon,
        memory_cache=None if m is None else m.stat.file,
        memory_swap=None if m is None else m.swap,
        memory_mapped_file=None if m is None else m.stat.mapped,
        oom_kills=None if m is None else m.oom_kills,
        memory_events={} if m is None or m.oom_kills is None else {"oom_kill": m.oom_kills},
        threads=None if s.pids is None else s.pids.current,
        pressure={kind: _pressure(p) for kind, p in s.pressure.items()},
    )


def _pressure(p: fs_pressure.Pressure) -> Pressure:
    full = p.full
    return Pressure(
        p.some.total_us / 1e6,
        None if full is None else full.total_us / 1e6,
        p.some.avg10 / 100,
        None if full is None else full.avg10 / 100,
    )


def _memory_limit(where: Located | None) -> int | None:
    """The cgroup's own memory limit, 0 for none."""
    if where is None:
        return None
    return _limit(where.directory, "memory.limit_in_bytes" if where.version == 1 else "memory.max")


def _memory_counts(where: Located | None) -> tuple[int | None, dict[str, int] | None]:
    """v1's memory.failcnt and v2's memory.events."""
    if where is None:
        return None, None
    if where.version == 1:
        return cgspec.read_failcnt(where.directory), None
    return None, cgspec.read_memory_events(where.directory)


def _limit(directory: Path, name: str) -> int | None:
    """A limit file of the cgroup's own, 0 for no limit (as cAdvisor reports it); None where there is
    no such file."""
    text = read_optional(directory / name)
    return None if text is None else limit_value(text, directory / name) or 0
