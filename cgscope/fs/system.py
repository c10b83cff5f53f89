"""Host-wide figures from proc(5): online CPUs, load average, memory, uptime.

Each figure is None when its file is missing or unreadable (a captured tree may lack it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs.errors import reading


@dataclass(frozen=True, slots=True)
class SystemInfo:
    cpus: int | None  # online CPUs: the "cpuN" lines of /proc/stat
    load: tuple[float, float, float] | None  # 1, 5 and 15 minute load averages
    mem_total_kib: int | None
    mem_available_kib: int | None  # the kernel's estimate of memory available without swapping (>= 3.14)
    uptime_s: float | None


def _read(path: Path) -> bytes | None:
    try:
        with reading(path):
            return path.read_bytes()
    except (ProcessGone, AccessDenied):
        return None


def parse_cpus(stat: bytes) -> int | None:
    """/proc/stat has a "cpuN" line per online CPU after the "cpu" total (fs/proc/stat.c)."""
    count = sum(1 for line in stat.split(b"\n") if line.startswith(b"cpu") and line[3:4].isdigit())
    return count or None


def parse_loadavg(data: bytes) -> tuple[float, float, float] | None:
    """The three load averages: the first fields of /proc/loadavg ("0.50 0.40 0.30 1/123 4567")."""
    fields = data.split()
    if len(fields) < 3:
        return None
    return float(fields[0]), float(fields[1]), float(fields[2])


def parse_meminfo(data: bytes) -> tuple[int | None, int | None]:
    """(MemTotal, MemAvailable) in KiB ("MemTotal:  16344972 kB")."""
    found: dict[bytes, int] = {}
    for line in data.split(b"\n"):
        key, _, rest = line.partition(b":")
        if key in (b"MemTotal", b"MemAvailable"):
            found[key] = int(rest.split()[0])
            if len(found) == 2:
                break
    return found.get(b"MemTotal"), found.get(b"MemAvailable")


def read_system(proc: Path) -> SystemInfo:
    stat = _read(proc / "stat")
    loadavg = _read(proc / "loadavg")
    meminfo = _read(proc / "meminfo")
    uptime = _read(proc / "uptime")  # "350735.47 234388.90": seconds up, seconds idle (summed over CPUs)
    total, available = parse_meminfo(meminfo) if meminfo else (None, None)
    return SystemInfo(
        cpus=parse_cpus(stat) if stat else None,
        load=parse_loadavg(loadavg) if loadavg else None,
        mem_total_kib=total,
        mem_available_kib=available,
        uptime_s=float(uptime.split()[0]) if uptime and uptime.split() else None,
    )
