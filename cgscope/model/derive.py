"""What a cgroup uses against what it may use, from two samples: pure functions of (prev, cur, dt)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cgscope.fs.cgroup_pids import PidsCounters
from cgscope.fs.pressure import Pressure
from cgscope.model.borrowed import MEASURED, Figure, Source
from cgscope.model.process import Process
from cgscope.model.process_sampler import ProcessSample
from cgscope.model.usage import OverviewSample, Sample, Watched

NS = 1_000_000_000


@dataclass(frozen=True)
class CpuUsage:
    host_percent: float | None  # % of one CPU, as top counts it: 100 = one CPU busy
    limit_cpus: float  # the allowance: the CFS quota (in CPUs) capped by the cpuset's size, else that size
    limit_percent: float | None  # host_percent as a share of the allowance: a capped busy loop shows 100
    quota_cpus: float | None  # None: no quota
    cpuset: tuple[int, ...]
    throttled_percent: float | None  # % of the CFS periods in which the quota ran out; None: no quota
    throttled_seconds: float | None  # time spent throttled in the interval, summed over CPUs


@dataclass(frozen=True)
class MemoryUsage:
    usage_bytes: int  # everything charged to the cgroup, page cache included: what the limit is held to
    working_set_bytes: int  # usage minus inactive file cache (kubectl top, cAdvisor, docker stats)
    anon_bytes: int
    file_bytes: int
    swap_bytes: int | None  # None: swap is not accounted
    limit_bytes: int | None  # the smallest limit on the path to the root; None: no limit
    limit_percent: float | None  # usage as a share of the limit
    oom_kills: int | None  # since the cgroup was created


@dataclass(frozen=True)
class IoUsage:
    read_bytes_per_s: float
    write_bytes_per_s: float
    read_ops_per_s: float
    write_ops_per_s: float


@dataclass(frozen=True)
class Usage:
    interval: float | None  # seconds between the two samples; None from one sample alone
    cpu: CpuUsage | None
    memory: MemoryUsage | None
    pids: PidsCounters | None
    io: IoUsage | None
    pressure: Mapping[str, Pressure] = field(default_factory=dict)
    source: Source = "cgroup"  # "processes": every figure its own processes', its cgroups holding others
    from_processes: frozenset[Figure] = frozenset()  # the figures that are, where not all (source_of)

    def source_of(self, figure: Figure) -> Source:
        """Where `figure` comes from: its cgroup, or its processes (model/borrowed.py)."""
        return "processes" if self.source == "processes" or figure in self.from_processes else "cgroup"


def allowance(cpus: tuple[int, ...], quota: float | None) -> float:
    """CPUs a cgroup may use: its quota capped by the size of its cpuset, else that size."""
    return float(len(cpus)) if quota is None else min(quota, float(len(cpus)))


def derive(prev: Sample | None, cur: Sample, dt: float) -> Usage:
    """Rates over the `dt` seconds from `prev` to `cur` (the same cgroup); levels (memory, pids, PSI's own
    averages) from `cur`. Without `prev`, with dt <= 0, where `prev` was read of another directory (the
    cgroup was removed and made again, the container moved) or from another source, a figure's rates are
    None: counters of two cgroups, or of a cgroup and of processes, tell no rate."""
    before = prev if prev is not None and prev.identity == cur.identity and dt > 0 else None

    def kept(figure: Figure) -> Sample | None:
        moved = before is None or figure in before.from_processes ^ cur.from_processes
        return None if moved else before

    return Usage(
        dt if before is not None else None,
        _cpu(kept("cpu"), cur, dt),
        _memory(cur),
        cur.pids,
        _io(kept("io"), cur, dt),
        cur.pressure,
        "processes" if cur.from_processes >= MEASURED else "cgroup",
        cur.from_processes & MEASURED,
    )


def _delta(new: int | None, old: int | None) -> int | None:
    """A counter's increase; None where it went backwards: it is no longer the counter read before
    (a cgroup made again where its directory's identity could not tell), and no rate is known."""
    return None if new is None or old is None or new < old else new - old


def _cpu(prev: Sample | None, cur: Sample, dt: float) -> CpuUsage | None:
    if cur.cpu is None:
        return None
    limit = allowance(cur.cpus, cur.quota)
    host = limit_share = throttled = throttled_s = None
    if prev is not None and prev.cpu is not None:
        used = _delta(cur.cpu.usage_ns, prev.cpu.usage_ns)
        host = None if used is None else used / NS / dt * 100
        limit_share = None if host is None or limit <= 0 else host / limit
        if cur.quota is not None:
            periods = _delta(cur.cpu.periods, prev.cpu.periods)
            hit = _delta(cur.cpu.throttled_periods, prev.cpu.throttled_periods)
            if periods is not None and hit is not None:
                throttled = hit / periods * 100 if periods else 0.0
            spent = _delta(cur.cpu.throttled_ns, prev.cpu.throttled_ns)
            throttled_s = None if spent is None else spent / NS
    return CpuUsage(host, limit, limit_share, cur.quota, cur.cpus, throttled, throttled_s)


def _memory(cur: Sample) -> MemoryUsage | None:
    m = cur.memory
    if m is None:
        return None
    return MemoryUsage(
        m.usage,
        m.working_set,
        m.stat.anon,
        m.stat.file,
        m.swap,
        m.limit,
        m.usage / m.limit * 100 if m.limit else None,
        m.oom_kills,
    )


def _io(prev: Sample | None, cur: Sample, dt: float) -> IoUsage | None:
    if prev is None or prev.io is None or cur.io is None:
        return None
    totals = [0, 0, 0, 0]
    for dev, now in cur.io.items():
        was = prev.io.get(dev)
        if was is None:
            continue
        pairs = (
            (now.read_bytes, was.read_bytes),
            (now.write_bytes, was.write_bytes),
            (now.read_ops, was.read_ops),
            (now.write_ops, was.write_ops),
        )
        for i, (new, old) in enumerate(pairs):
            if new < old:  # see _delta
                return None
            totals[i] += new - old
    return IoUsage(*(t / dt for t in totals))


@dataclass(frozen=True)
class ContainerUsage:
    watched: Watched
    usage: Usage


def derive_overview(prev: OverviewSample, cur: OverviewSample) -> tuple[Usage, list[ContainerUsage]]:
    """The host's usage and each container's, between two samples of the overview. A container new in
    `cur` has no rates yet; one gone from `cur` is left out."""
    host = derive(prev.host, cur.host, cur.host.taken_at - prev.host.taken_at)
    rows = []
    for w in cur.watched:
        now = cur.containers.get(w.container.id)
        if now is None:
            continue
        was = prev.containers.get(w.container.id)
        dt = now.taken_at - was.taken_at if was is not None else 0.0
        rows.append(ContainerUsage(w, derive(was, now, dt)))
    return host, rows


def memory_allowance(cgroup: Sample, host: Sample) -> int | None:
    """The memory a container may use: its limit capped at the host's RAM (the host sample's limit)."""
    limits = [m.limit for m in (cgroup.memory, host.memory) if m is not None and m.limit]
    return min(limits) if limits else None


# -- processes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessUsage:
    process: Process
    state: str
    cpu_percent: float | None  # % of one CPU over the interval; None for a process new in `cur`
    rss_bytes: int
    memory_percent: float | None  # RSS as a share of `memory_total`
    threads: int


def process_usage(
    prev: Mapping[tuple[int, int], ProcessSample],
    cur: Mapping[tuple[int, int], ProcessSample],
    ticks: int,
    memory_total: int | None,
) -> list[ProcessUsage]:
    """Each process of `cur` (processes are (pid, start time): a reused pid is a new process), busiest
    first."""
    out = []
    for key, now in cur.items():
        was = prev.get(key)
        dt = now.taken_at - was.taken_at if was is not None else 0.0
        cpu = (now.cpu_ticks - was.cpu_ticks) / ticks / dt * 100 if was is not None and dt > 0 else None
        share = now.rss_bytes / memory_total * 100 if memory_total else None
        out.append(ProcessUsage(now.process, now.state, cpu, now.rss_bytes, share, now.threads))
    out.sort(key=lambda u: (-(u.cpu_percent or 0.0), -u.rss_bytes, u.process.pid))
    return out
