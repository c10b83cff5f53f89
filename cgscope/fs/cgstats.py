"""Counters of one cgroup (v1 and v2) and the host-wide /proc files that top and the LXCFS-style view need.

Formats: Documentation/admin-guide/cgroup-v2.rst (cpu.stat, cpu.max, memory.*, pids.*, io.stat, PSI),
cgroup-v1/{cpuacct,cpusets,memory,blkio-controller}.rst, sched-bwc.rst, proc(5). Every reader takes a
directory under a HostRoot and names the file it failed on (fs/errors.reading).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import ProcessGone
from cgscope.fs.errors import reading
from cgscope.fs.hostroot import HostRoot

# v1 shows "no limit" as PAGE_COUNTER_MAX pages: LONG_MAX rounded down to a page, 9223372036854771712
# with 4 KiB pages (mm/page_counter.c). Nothing a machine can hold comes near 2**62 bytes.
_UNLIMITED = 1 << 62

Device = tuple[int, int]  # (major, minor)


# -- reading -------------------------------------------------------------------------------------------


def read_text(path: str | Path) -> str:
    with reading(path), open(path, "rb") as f:
        return f.read().decode(errors="replace")


def read_optional(path: str | Path) -> str | None:
    """The file's text, or None where the kernel offers no such file in a cgroup that exists (its
    controller is not enabled there) or refuses to produce it (PSI switched off: EOPNOTSUPP). A cgroup
    that was removed raises ProcessGone, as read_text does."""
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as exc:
        if exc.errno == errno.EOPNOTSUPP or (
            exc.errno == errno.ENOENT and os.path.isdir(os.path.dirname(path))
        ):
            return None
        with reading(path):
            raise


# -- parsers -------------------------------------------------------------------------------------------


def flat_keyed(text: str) -> dict[str, int]:
    """Lines of "key value": cpu.stat, memory.stat, memory.events, memory.oom_control, /proc/vmstat."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


def limit_value(text: str) -> int | None:
    """A limit file (memory.max, pids.max, memory.limit_in_bytes, cpu.cfs_quota_us); None for no limit:
    "max" (v2), -1 (a v1 quota) or v1's PAGE_COUNTER_MAX."""
    word = text.strip()
    if word == "max":
        return None
    value = int(word)
    return None if value < 0 or value >= _UNLIMITED else value


def cpu_max(text: str) -> tuple[int | None, int]:
    """v2 cpu.max: "$MAX $PERIOD" in microseconds, MAX "max" for no quota."""
    quota, period = text.split()
    return (None if quota == "max" else int(quota)), int(period)


def cpulist(text: str) -> tuple[int, ...]:
    """A CPU list as cpusets and /sys/devices/system/cpu/online write it: "0-3,8,10-11" (empty: none)."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return tuple(sorted(set(cpus)))


@dataclass(frozen=True, slots=True)
class PressureLine:
    avg10: float  # % of the last 10 s in which tasks stalled
    avg60: float
    avg300: float
    total_us: int


@dataclass(frozen=True, slots=True)
class Pressure:
    """A PSI file (Documentation/accounting/psi.rst): "some" tasks stalled, or "full": all of them."""

    some: PressureLine
    full: PressureLine | None  # cpu.pressure had no "full" line before Linux 5.13


def pressure(text: str) -> Pressure:
    lines: dict[str, PressureLine] = {}
    for line in text.splitlines():
        kind, *fields = line.split()
        values = dict(f.split("=", 1) for f in fields)
        lines[kind] = PressureLine(
            float(values["avg10"]), float(values["avg60"]), float(values["avg300"]), int(values["total"])
        )
    return Pressure(lines["some"], lines.get("full"))


@dataclass(frozen=True, slots=True)
class IoDevice:
    """Bytes and operations one cgroup did on one block device, since the cgroup was created."""

    read_bytes: int = 0
    write_bytes: int = 0
    read_ops: int = 0
    write_ops: int = 0
    discard_bytes: int = 0
    discard_ops: int = 0


def io_stat(text: str) -> dict[Device, IoDevice]:
    """v2 io.stat: "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0"."""
    out: dict[Device, IoDevice] = {}
    for line in text.splitlines():
        dev, *fields = line.split()
        major, minor = dev.split(":")
        v = {k: int(n) for k, _, n in (f.partition("=") for f in fields) if n.isdigit()}
        out[int(major), int(minor)] = IoDevice(
            v.get("rbytes", 0), v.get("wbytes", 0), v.get("rios", 0), v.get("wios", 0),
            v.get("dbytes", 0), v.get("dios", 0),
        )  # fmt: skip
    return out


def blkio_throttle(service_bytes: str, serviced: str) -> dict[Device, IoDevice]:
    """v1 blkio.throttle.io_service_bytes_recursive and .io_serviced_recursive: "8:0 Read 4096" lines,
    then a "Total N" line. The throttling layer counts every bio, whatever the I/O scheduler."""
    counts: dict[Device, dict[str, int]] = {}
    for prefix, text in (("bytes", service_bytes), ("ops", serviced)):
        for line in text.splitlines():
            fields = line.split()
            if len(fields) != 3 or ":" not in fields[0]:
                continue
            major, minor = fields[0].split(":")
            counts.setdefault((int(major), int(minor)), {})[f"{fields[1]} {prefix}"] = int(fields[2])
    names = ("Read bytes", "Write bytes", "Read ops", "Write ops", "Discard bytes", "Discard ops")
    return {dev: IoDevice(*(c.get(name, 0) for name in names)) for dev, c in counts.items()}


# -- one cgroup's counters -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CpuCounters:
    usage_ns: int  # CPU time of every task in the cgroup and below
    user_ns: int | None = None
    system_ns: int | None = None
    periods: int | None = None  # CFS bandwidth periods with runnable tasks (nr_periods)
    throttled_periods: int | None = None  # ... in which the quota ran out (nr_throttled)
    throttled_ns: int | None = None  # time spent throttled, summed over CPUs


def read_cpu_v2(directory: Path) -> CpuCounters:
    """cpu.stat: usage, user and system always (cgroup core); throttling once the cpu controller is on."""
    s = flat_keyed(read_text(f"{directory}/cpu.stat"))
    throttled = s.get("throttled_usec")
    return CpuCounters(
        s["usage_usec"] * 1000,
        s["user_usec"] * 1000,
        s["system_usec"] * 1000,
        s.get("nr_periods"),
        s.get("nr_throttled"),
        None if throttled is None else throttled * 1000,
    )


def read_cpu_v1(cpuacct: Path | None, cpu: Path | None) -> CpuCounters | None:
    """cpuacct.usage (ns, hierarchical) and the cpu controller's cpu.stat (nr_periods, nr_throttled,
    throttled_time in ns)."""
    if cpuacct is None:
        return None
    usage = int(read_text(f"{cpuacct}/cpuacct.usage"))
    s = flat_keyed(read_text(f"{cpu}/cpu.stat")) if cpu is not None else {}
    periods, throttled = s.get("nr_periods"), s.get("nr_throttled")
    return CpuCounters(usage, None, None, periods, throttled, s.get("throttled_time"))


def read_percpu_v1(cpuacct: Path) -> dict[int, tuple[int, int]] | None:
    """cpuacct.usage_all: "cpu user system" then one "N USER_NS SYSTEM_NS" line per possible CPU."""
    text = read_optional(f"{cpuacct}/cpuacct.usage_all")
    if text is None:
        return None
    out = {}
    for line in text.splitlines()[1:]:
        cpu, user, system = line.split()
        out[int(cpu)] = (int(user), int(system))
    return out


def read_quota(directory: Path, version: int) -> float | None:
    """This cgroup's CFS quota in CPUs (quota / period); None for no quota or no cpu controller."""
    if version == 2:
        text = read_optional(f"{directory}/cpu.max")
        if text is None:
            return None
        quota, period = cpu_max(text)
    else:
        text = read_optional(f"{directory}/cpu.cfs_quota_us")  # absent without CONFIG_CFS_BANDWIDTH
        quota = None if text is None else limit_value(text)
        if quota is None:
            return None
        period = int(read_text(f"{directory}/cpu.cfs_period_us"))
    return None if quota is None else quota / period


def read_cpuset(directory: Path, version: int) -> tuple[int, ...] | None:
    """The CPUs the cgroup may run on (its effective cpuset); None where the cpuset controller is off.

    v2 names the file cpuset.cpus.effective, v1 cpuset.effective_cpus (older kernels: only cpuset.cpus)."""
    if version == 2:
        text = read_optional(f"{directory}/cpuset.cpus.effective")
    else:
        text = read_optional(f"{directory}/cpuset.effective_cpus")
        if text is None:
            text = read_text(f"{directory}/cpuset.cpus")
    return None if text is None else cpulist(text)


@dataclass(frozen=True, slots=True)
class MemoryStat:
    """memory.stat in bytes, v1's hierarchical total_* keys and v2's keys under one set of names."""

    anon: int = 0
    file: int = 0  # page cache, shmem included
    shmem: int = 0
    mapped: int = 0
    dirty: int = 0
    writeback: int = 0
    active_anon: int = 0
    inactive_anon: int = 0
    active_file: int = 0
    inactive_file: int = 0
    unevictable: int = 0
    anon_thp: int = 0
    swap: int | None = None  # v1 with swap accounting (v2: memory.swap.current)
    slab_reclaimable: int | None = None  # v2 only, as are the fields below
    slab_unreclaimable: int | None = None
    kernel_stack: int | None = None
    pagetables: int | None = None


_V1_STAT = {
    "anon": "total_rss", "file": "total_cache", "shmem": "total_shmem", "mapped": "total_mapped_file",
    "dirty": "total_dirty", "writeback": "total_writeback", "active_anon": "total_active_anon",
    "inactive_anon": "total_inactive_anon", "active_file": "total_active_file",
    "inactive_file": "total_inactive_file", "unevictable": "total_unevictable",
    "anon_thp": "total_rss_huge", "swap": "total_swap",
}  # fmt: skip
_V2_STAT = {
    "anon": "anon", "file": "file", "shmem": "shmem", "mapped": "file_mapped", "dirty": "file_dirty",
    "writeback": "file_writeback", "active_anon": "active_anon", "inactive_anon": "inactive_anon",
    "active_file": "active_file", "inactive_file": "inactive_file", "unevictable": "unevictable",
    "anon_thp": "anon_thp", "slab_reclaimable": "slab_reclaimable",
    "slab_unreclaimable": "slab_unreclaimable", "kernel_stack": "kernel_stack", "pagetables": "pagetables",
}  # fmt: skip


def memory_stat(raw: Mapping[str, int], version: int) -> MemoryStat:
    names = _V2_STAT if version == 2 else _V1_STAT
    return MemoryStat(**{field: raw[key] for field, key in names.items() if key in raw})


@dataclass(frozen=True, slots=True)
class MemoryCounters:
    usage: int  # bytes charged: anon, page cache, kernel memory (memory.current / memory.usage_in_bytes)
    stat: MemoryStat
    limit: int | None  # None: no limit
    swap: int | None  # swap in use; None where swap is not accounted
    swap_limit: int | None
    oom_kills: int | None  # processes the OOM killer ended in this cgroup and below


def read_memory_v2(directory: Path) -> MemoryCounters | None:
    """memory.current, .stat, .events and .swap.current; None where the memory controller is off.

    The limits are left None: the one the kernel applies is the smallest memory.max (memory.swap.max) on
    the path to the root, which the caller reads with read_limit, once per ancestor."""
    current = read_optional(f"{directory}/memory.current")
    if current is None:
        return None
    events = flat_keyed(read_text(f"{directory}/memory.events"))
    swap = read_optional(f"{directory}/memory.swap.current")
    return MemoryCounters(
        int(current),
        memory_stat(flat_keyed(read_text(f"{directory}/memory.stat")), 2),
        None,
        None if swap is None else int(swap),
        None,
        events.get("oom_kill"),
    )


def read_memory_v1(directory: Path) -> MemoryCounters:
    """memory.usage_in_bytes, memory.stat, memory.oom_control (oom_kill: Linux 4.13+).

    memory.stat's hierarchical_memory_limit is already the smallest limit on the path to the root;
    hierarchical_memsw_limit bounds memory + swap, so swap may use what it leaves above memory."""
    raw = flat_keyed(read_text(f"{directory}/memory.stat"))
    stat = memory_stat(raw, 1)
    limit = _unlimited_none(raw.get("hierarchical_memory_limit"))
    memsw = _unlimited_none(raw.get("hierarchical_memsw_limit"))  # absent without swap accounting
    swap_limit = None if memsw is None else max(0, memsw - (limit or 0))
    oom = flat_keyed(read_text(f"{directory}/memory.oom_control")).get("oom_kill")
    return MemoryCounters(
        int(read_text(f"{directory}/memory.usage_in_bytes")), stat, limit, stat.swap, swap_limit, oom
    )


def _unlimited_none(value: int | None) -> int | None:
    return None if value is None or value >= _UNLIMITED else value


def read_limit(directory: Path, name: str) -> int | None:
    """One limit file (memory.max, memory.swap.max, pids.max); None for no limit or no such file."""
    text = read_optional(f"{directory}/{name}")
    return None if text is None else limit_value(text)


def read_swappiness(directory: Path) -> int | None:
    """v1 memory.swappiness (v2 has no per-cgroup swappiness)."""
    text = read_optional(f"{directory}/memory.swappiness")
    return None if text is None else int(text)


@dataclass(frozen=True, slots=True)
class PidsCounters:
    current: int  # tasks (threads) in the cgroup and below
    max: int | None


def read_pids_current(directory: Path) -> int | None:
    """pids.current: tasks (threads) in the cgroup and below; None where the pids controller is off."""
    text = read_optional(f"{directory}/pids.current")
    return None if text is None else int(text)


def read_io(directory: Path, version: int) -> dict[Device, IoDevice] | None:
    if version == 2:
        text = read_optional(f"{directory}/io.stat")
        return None if text is None else io_stat(text)
    service_bytes = read_optional(f"{directory}/blkio.throttle.io_service_bytes_recursive")
    if service_bytes is None:
        return None
    return blkio_throttle(service_bytes, read_text(f"{directory}/blkio.throttle.io_serviced_recursive"))


PRESSURE_KINDS = ("cpu", "memory", "io")


def read_pressure(directory: Path, suffix: str = ".pressure") -> dict[str, Pressure]:
    """The PSI files the kernel offers: a cgroup2 directory's cpu.pressure, memory.pressure, io.pressure,
    or with suffix "" /proc/pressure/cpu, memory, io."""
    out = {}
    for kind in PRESSURE_KINDS:
        text = read_optional(f"{directory}/{kind}{suffix}")
        if text:
            out[kind] = pressure(text)
    return out


# -- host-wide files -----------------------------------------------------------------------------------


def read_host(host: HostRoot, absolute: str) -> str:
    """A host file: /proc/meminfo, /proc/cpuinfo, /proc/stat, /proc/uptime, /proc/loadavg, /proc/swaps,
    /proc/diskstats, /proc/vmstat, /sys/devices/system/cpu/online ..."""
    return read_text(host.path(absolute))


def meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo: "MemTotal:       24684100 kB" -> {"MemTotal": 24684100} (kB; HugePages_* are counts)."""
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if rest.split():
            out[key] = int(rest.split()[0])
    return out


CpuTimes = tuple[int, ...]  # user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ


def proc_stat_cpus(text: str) -> tuple[CpuTimes, dict[int, CpuTimes]]:
    """The "cpu" line and each "cpuN" line of /proc/stat."""
    total: CpuTimes = ()
    per_cpu: dict[int, CpuTimes] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            continue
        name, *fields = line.split()
        times = tuple(int(f) for f in fields)
        if name == "cpu":
            total = times
        else:
            per_cpu[int(name[3:])] = times
    return total, per_cpu


def busy_ticks(times: CpuTimes) -> int:
    """Time not idle: user, nice, system, irq, softirq, steal. guest and guest_nice are already counted
    in user and nice (kernel/sched/cputime.c account_guest_time); iowait is idle time."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (*times, 0, 0, 0, 0, 0, 0, 0, 0)[:8]
    return user + nice + system + irq + softirq + steal


def elapsed_ticks(times: CpuTimes) -> int:
    """All the time of a CPU line: busy plus idle and iowait."""
    padded = (*times, 0, 0, 0, 0, 0)
    return busy_ticks(times) + padded[3] + padded[4]


def uptime(text: str) -> float:
    """/proc/uptime's first field: seconds since boot (CLOCK_BOOTTIME)."""
    return float(text.split(maxsplit=1)[0])


def loadavg_tasks(text: str) -> int:
    """The scheduling entities (threads) alive: the 4th field of /proc/loadavg, "running/total"."""
    return int(text.split()[3].split("/")[1])


@dataclass(frozen=True, slots=True)
class DiskLine:
    major: int
    minor: int
    name: str
    fields: tuple[int, ...]  # 11 (before 4.18), 15 (before 5.5) or 17 counters (admin-guide/iostats.rst)


def diskstats(text: str) -> list[DiskLine]:
    out = []
    for line in text.splitlines():
        major, minor, name, *fields = line.split()
        out.append(DiskLine(int(major), int(minor), name, tuple(int(f) for f in fields)))
    return out


def disk_io(line: DiskLine) -> IoDevice:
    """A whole disk's counters: reads completed, sectors read (512 bytes), writes, sectors written, and
    discards (fields 12 and 14, Linux 4.18+)."""
    f = (*line.fields, *([0] * 17))
    return IoDevice(f[2] * 512, f[6] * 512, f[0], f[4], f[13] * 512, f[11])


def whole_disks(host: HostRoot) -> set[str]:
    """Block devices that are not partitions: the names under /sys/block."""
    path = host.path("/sys/block")
    with reading(path):
        return set(os.listdir(path))


def read_online(host: HostRoot) -> tuple[int, ...]:
    return cpulist(read_host(host, "/sys/devices/system/cpu/online"))


def read_pid_limit(host: HostRoot) -> int:
    """The most tasks the host can hold: the smaller of kernel.pid_max and kernel.threads-max."""
    return min(int(read_host(host, f"/proc/sys/kernel/{name}")) for name in ("pid_max", "threads-max"))


# -- threads of one process ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    state: str  # "R" running or runnable, "D" uninterruptible, "S" sleeping ... (proc(5))
    nspid: int | None  # the thread's id in its own pid namespace (last NSpid field)
    depth: int  # how deep that namespace is: NSpid's field count (1: the host's)


def read_tasks(proc: Path, pid: int) -> list[Task]:
    """The threads of a process, from /proc/PID/task/TID/status; those gone meanwhile are left out."""
    task_dir = proc / str(pid) / "task"
    with reading(task_dir):
        tids = os.listdir(task_dir)
    out = []
    for tid in tids:
        try:
            text = read_text(task_dir / tid / "status")
        except ProcessGone:
            continue
        state, ids = "?", []
        for line in text.splitlines():
            if line.startswith("State:"):
                state = line.split()[1]
            elif line.startswith("NSpid:"):
                ids = line.split()[1:]
                break
        out.append(Task(state, int(ids[-1]) if ids else None, len(ids)))
    return out
