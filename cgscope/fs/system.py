"""Host-wide files of proc(5) and sysfs: CPU times, memory, load, uptime, disks, online CPUs, task limits.

Readers take a HostRoot and name the file they read; the parsers take the text and its path, and raise
InvalidFormat naming the line they could not read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from cgscope.errors import CgscopeError, InvalidFormat
from cgscope.fs.cgroup_io import IoDevice
from cgscope.fs.cgroup_memory import MemoryCounters, MemoryStat
from cgscope.fs.files import StrPath, list_dir, read_text, reading
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.parse import cpulist, decimal, flat_keyed, integer, single_integer

CpuTimes = tuple[int, ...]  # user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ
T = TypeVar("T")
_MIN_DISK_FIELDS = 11  # counters per /proc/diskstats line: 11 before Linux 4.18, 15 before 5.5, then 17


# -- parsers -------------------------------------------------------------------------------------------


def parse_meminfo(text: str, path: StrPath) -> dict[str, int]:
    """/proc/meminfo: "MemTotal:       24684100 kB" -> {"MemTotal": 24684100} (kB; HugePages_* are counts)."""
    out = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        words = rest.split()
        if not sep or not words or len(words) > 2 or words[1:] not in ([], ["kB"]):
            raise InvalidFormat(path, line)
        out[key] = integer(words[0], path, line)
    return out


def parse_cpu_times(text: str, path: StrPath) -> tuple[CpuTimes, dict[int, CpuTimes]]:
    """The "cpu" line and each "cpuN" line of /proc/stat (fs/proc/stat.c: one per online CPU)."""
    total: CpuTimes | None = None
    per_cpu: dict[int, CpuTimes] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            continue
        name, *fields = line.split()
        times = tuple(integer(f, path, line) for f in fields)
        if len(times) < 4:
            raise InvalidFormat(path, line)
        if name == "cpu":
            total = times
        else:
            per_cpu[integer(name[3:], path, line)] = times
    if total is None:
        raise InvalidFormat(path, None, "no 'cpu' line")
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


def parse_cpuinfo(text: str, path: StrPath) -> tuple[list[str], dict[int, list[str]]]:
    """/proc/cpuinfo split into what precedes the first processor (s390 writes a header) and each
    processor's block of lines, by its number ("processor\t: 3"); lines keep their newlines."""
    head: list[str] = []
    blocks: dict[int, list[str]] = {}
    current = head
    for line in text.splitlines(keepends=True):
        key, sep, value = line.partition(":")
        if sep and key.rstrip() == "processor":
            current = blocks.setdefault(integer(value.strip(), path, line.rstrip("\n")), [])
        current.append(line)
    return head, blocks


def parse_uptime(text: str, path: StrPath) -> float:
    """/proc/uptime: "350735.47 234388.90", seconds since boot (CLOCK_BOOTTIME), then idle seconds."""
    words = text.split()
    if len(words) != 2:
        raise InvalidFormat(path, text.strip("\n"))
    return decimal(words[0], path, text.strip("\n"))


@dataclass(frozen=True, slots=True)
class Loadavg:
    """/proc/loadavg: "0.50 0.40 0.30 1/123 4567"."""

    averages: tuple[float, float, float]  # 1, 5 and 15 minutes
    running: int  # scheduling entities (threads) runnable now
    tasks: int  # ... alive


def parse_loadavg(text: str, path: StrPath) -> Loadavg:
    line = text.strip("\n")
    words = line.split(" ")
    running, sep, tasks = words[3].partition("/") if len(words) == 5 else ("", "", "")
    if not sep:
        raise InvalidFormat(path, line)
    one, five, fifteen = (decimal(w, path, line) for w in words[:3])
    integer(words[4], path, line)
    return Loadavg((one, five, fifteen), integer(running, path, line), integer(tasks, path, line))


@dataclass(frozen=True, slots=True)
class DiskLine:
    major: int
    minor: int
    name: str
    fields: tuple[int, ...]  # 11 (before 4.18), 15 (before 5.5) or 17 counters (admin-guide/iostats.rst)


def parse_diskstats(text: str, path: StrPath) -> list[DiskLine]:
    out = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 + _MIN_DISK_FIELDS:
            raise InvalidFormat(path, line)
        major, minor, name, *fields = words
        counters = tuple(integer(f, path, line) for f in fields)
        out.append(DiskLine(integer(major, path, line), integer(minor, path, line), name, counters))
    return out


def disk_io(line: DiskLine) -> IoDevice:
    """A whole disk's counters: reads completed, sectors read (512 bytes), writes, sectors written, and
    discards (fields 12 and 14, Linux 4.18+)."""
    f = (*line.fields, *([0] * 17))
    return IoDevice(f[2] * 512, f[6] * 512, f[0], f[4], f[13] * 512, f[11])


# -- readers -------------------------------------------------------------------------------------------


def read_cpu_times(host: HostRoot) -> tuple[CpuTimes, dict[int, CpuTimes]]:
    path = host.path("/proc/stat")
    return parse_cpu_times(read_text(path), path)


def read_meminfo(host: HostRoot) -> dict[str, int]:
    path = host.path("/proc/meminfo")
    return parse_meminfo(read_text(path), path)


def read_oom_kills(host: HostRoot) -> int | None:
    """Processes the OOM killer ended since boot (/proc/vmstat oom_kill, Linux 4.13+)."""
    path = host.path("/proc/vmstat")
    return flat_keyed(read_text(path), path).get("oom_kill")


def read_loadavg(host: HostRoot) -> Loadavg:
    path = host.path("/proc/loadavg")
    return parse_loadavg(read_text(path), path)


def read_disks(host: HostRoot) -> list[DiskLine]:
    """The whole disks of /proc/diskstats: the block devices listed under /sys/block (not partitions)."""
    block = host.path("/sys/block")
    with reading(block):
        disks = {e.name for e in list_dir(block)}
    path = host.path("/proc/diskstats")
    return [d for d in parse_diskstats(read_text(path), path) if d.name in disks]


def read_online(host: HostRoot) -> tuple[int, ...]:
    path = host.path("/sys/devices/system/cpu/online")
    return cpulist(read_text(path), path)


def read_pid_limit(host: HostRoot) -> int:
    """The most tasks the host can hold: the smaller of kernel.pid_max and kernel.threads-max."""
    paths = [host.path(f"/proc/sys/kernel/{name}") for name in ("pid_max", "threads-max")]
    return min(single_integer(read_text(p), p) for p in paths)


def host_memory(kb: Mapping[str, int], oom_kills: int | None) -> MemoryCounters:
    """The host's memory in the cgroup terms: usage is all that is not free (page cache included, as a
    cgroup's is), the limit is MemTotal."""

    def b(key: str) -> int:
        return kb.get(key, 0) * 1024

    stat = MemoryStat(
        anon=b("AnonPages"), file=b("Buffers") + b("Cached"), shmem=b("Shmem"), mapped=b("Mapped"),
        dirty=b("Dirty"), writeback=b("Writeback"), active_anon=b("Active(anon)"),
        inactive_anon=b("Inactive(anon)"), active_file=b("Active(file)"), inactive_file=b("Inactive(file)"),
        unevictable=b("Unevictable"), anon_thp=b("AnonHugePages"),
        swap=b("SwapTotal") - b("SwapFree"), slab_reclaimable=b("SReclaimable"),
        slab_unreclaimable=b("SUnreclaim"), kernel_stack=b("KernelStack"), pagetables=b("PageTables"),
    )  # fmt: skip
    return MemoryCounters(
        b("MemTotal") - b("MemFree"), stat, b("MemTotal"), stat.swap, b("SwapTotal"), oom_kills
    )


# -- the files the LXCFS-style view rewrites -----------------------------------------------------------


@dataclass(frozen=True)
class HostTexts:
    """The host's own files as read (the view rewrites them line by line) and parsed, when made: a
    malformed file fails the read, never the rendering of the view."""

    meminfo: str
    cpuinfo: str
    stat: str
    uptime: str
    swaps: str
    diskstats: str
    online: tuple[int, ...]  # /sys/devices/system/cpu/online, expanded
    root: Path = Path("/")  # the host root they were read under, which names them in an error
    memory_kb: dict[str, int] = field(init=False, repr=False)  # meminfo parsed
    cpu_blocks: tuple[list[str], dict[int, list[str]]] = field(init=False, repr=False)  # cpuinfo's
    cpu_times: dict[int, CpuTimes] = field(init=False, repr=False)  # the cpuN lines of stat
    uptime_s: float = field(init=False, repr=False)
    disks: tuple[DiskLine, ...] = field(init=False, repr=False)  # every line of diskstats

    def __post_init__(self) -> None:
        def at(name: str) -> Path:
            return self.root / "proc" / name

        parsed = {
            "memory_kb": parse_meminfo(self.meminfo, at("meminfo")),
            "cpu_blocks": parse_cpuinfo(self.cpuinfo, at("cpuinfo")),
            "cpu_times": parse_cpu_times(self.stat, at("stat"))[1],
            "uptime_s": parse_uptime(self.uptime, at("uptime")),
            "disks": tuple(parse_diskstats(self.diskstats, at("diskstats"))),
        }
        for name, value in parsed.items():
            object.__setattr__(self, name, value)  # a frozen dataclass's derived fields


def read_host_texts(host: HostRoot, online: tuple[int, ...]) -> HostTexts:
    """The files the view rewrites; `online` as read_online gave it."""

    def text(name: str) -> str:
        return read_text(host.path(name))

    return HostTexts(
        text("/proc/meminfo"), text("/proc/cpuinfo"), text("/proc/stat"), text("/proc/uptime"),
        text("/proc/swaps"), text("/proc/diskstats"), online, host.root,
    )  # fmt: skip


# -- what a refresh reads of the host ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostFigures:
    """/proc/stat, loadavg, meminfo and uptime as one refresh reads them, each file once, for both the
    header and the host's usage; each the error its read raised where missing, unreadable or malformed
    (a captured tree may lack one)."""

    times: tuple[CpuTimes, dict[int, CpuTimes]] | CgscopeError
    taken_at: float  # time.monotonic() after /proc/stat was read
    load: Loadavg | CgscopeError
    memory_kb: dict[str, int] | CgscopeError
    uptime_s: float | CgscopeError | None  # None: not asked for


def _figure(path: Path, parse: Callable[[str, StrPath], T]) -> T | CgscopeError:
    try:
        return parse(read_text(path), path)
    except CgscopeError as exc:  # gone, denied, malformed: the one field is unknown
        return exc


def read_host_figures(host: HostRoot, uptime: bool = True) -> HostFigures:
    """`uptime=False`: /proc/uptime is left unread (the host's usage does not need it)."""
    return HostFigures(
        _figure(host.path("/proc/stat"), parse_cpu_times),
        time.monotonic(),
        _figure(host.path("/proc/loadavg"), parse_loadavg),
        _figure(host.path("/proc/meminfo"), parse_meminfo),
        _figure(host.path("/proc/uptime"), parse_uptime) if uptime else None,
    )


def known(figure: T | CgscopeError) -> T:
    """The figure, or the error that made it unknown raised."""
    if isinstance(figure, CgscopeError):
        raise figure
    return figure


# -- the dashboard's header ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """Host-wide figures; each None when its file is missing, unreadable or malformed."""

    cpus: int | None  # online CPUs: the "cpuN" lines of /proc/stat
    load: tuple[float, float, float] | None  # 1, 5 and 15 minute load averages
    mem_total_kib: int | None
    mem_available_kib: int | None  # the kernel's estimate of memory available without swapping (>= 3.14)
    uptime_s: float | None

    @classmethod
    def of(cls, f: HostFigures) -> SystemInfo:
        memory = {} if isinstance(f.memory_kb, CgscopeError) else f.memory_kb
        return cls(
            cpus=None if isinstance(f.times, CgscopeError) else len(f.times[1]) or None,
            load=None if isinstance(f.load, CgscopeError) else f.load.averages,
            mem_total_kib=memory.get("MemTotal"),
            mem_available_kib=memory.get("MemAvailable"),
            uptime_s=None if isinstance(f.uptime_s, CgscopeError) else f.uptime_s,
        )
