"""A cgroup's CPU: usage and throttling counters, its CFS quota and its effective cpuset (v1 and v2).

Formats: Documentation/admin-guide/cgroup-v2.rst (cpu.stat, cpu.max, cpuset.cpus.effective),
cgroup-v1/cpuacct.rst, cgroup-v1/cpusets.rst, scheduler/sched-bwc.rst.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from cgscope.errors import InvalidFormat
from cgscope.fs.cgfile import read_keyed, read_number
from cgscope.fs.files import StrPath, child, read_optional, read_text
from cgscope.fs.parse import cpu_max, cpulist, flat_keyed, integer, period, v1_quota


@dataclass(frozen=True, slots=True)
class CpuCounters:
    usage_ns: int  # CPU time of every task in the cgroup and below
    user_ns: int | None = None
    system_ns: int | None = None
    periods: int | None = None  # CFS bandwidth periods with runnable tasks (nr_periods)
    throttled_periods: int | None = None  # ... in which the quota ran out (nr_throttled)
    throttled_ns: int | None = None  # time spent throttled, summed over CPUs


def parse_cpu_v2(text: str, path: StrPath) -> CpuCounters:
    """cpu.stat: usage, user and system always (cgroup core); throttling once the cpu controller is on."""
    s = flat_keyed(text, path)
    missing = next((k for k in ("usage_usec", "user_usec", "system_usec") if k not in s), None)
    if missing is not None:
        raise InvalidFormat(path, None, f"no {missing} line")
    throttled = s.get("throttled_usec")
    return CpuCounters(
        s["usage_usec"] * 1000,
        s["user_usec"] * 1000,
        s["system_usec"] * 1000,
        s.get("nr_periods"),
        s.get("nr_throttled"),
        None if throttled is None else throttled * 1000,
    )


def usage_file(directory: Path, version: int) -> str:
    """The file a cgroup's CPU usage is read from: v2 cpu.stat (its throttling too), v1 cpuacct.usage."""
    return child(directory, "cpu.stat" if version == 2 else "cpuacct.usage")


def throttling_file_v1(cpu: Path) -> str:
    """The v1 cpu controller's cpu.stat, where its throttling is read from."""
    return child(cpu, "cpu.stat")


def read_cpu_v2(directory: Path) -> CpuCounters:
    path = usage_file(directory, 2)
    return parse_cpu_v2(read_text(path, whole=True), path)


def read_cpu_v1(cpuacct: Path | None, cpu: Path | None) -> CpuCounters | None:
    """cpuacct.usage (ns, hierarchical) and the cpu controller's throttling (with_throttling_v1)."""
    if cpuacct is None:
        return None
    usage = CpuCounters(read_number(usage_file(cpuacct, 1)))
    return with_throttling_v1(usage, cpu) if cpu is not None else usage


def with_throttling_v1(counters: CpuCounters, cpu: Path) -> CpuCounters:
    """`counters` with the v1 cpu controller's cpu.stat: nr_periods, nr_throttled, throttled_time (ns).
    A hybrid host's cgroup2 cpu.stat has usage but no throttling while cpu is a v1 controller."""
    s = read_keyed(throttling_file_v1(cpu))
    return replace(
        counters, periods=s.get("nr_periods"), throttled_periods=s.get("nr_throttled"),
        throttled_ns=s.get("throttled_time"),
    )  # fmt: skip


def parse_percpu_v1(text: str, path: StrPath) -> dict[int, tuple[int, int]]:
    """cpuacct.usage_all: "cpu user system" then one "N USER_NS SYSTEM_NS" line per possible CPU."""
    lines = text.splitlines()
    if not lines or lines[0].split() != ["cpu", "user", "system"]:
        raise InvalidFormat(path, lines[0] if lines else "", "not the 'cpu user system' header:")
    out = {}
    for line in lines[1:]:
        fields = line.split()
        if len(fields) != 3:
            raise InvalidFormat(path, line)
        cpu, user, system = (integer(f, path, line) for f in fields)
        out[cpu] = (user, system)
    return out


def read_percpu_v1(cpuacct: Path) -> dict[int, tuple[int, int]] | None:
    path = child(cpuacct, "cpuacct.usage_all")
    text = read_optional(path, whole=True)
    return None if text is None else parse_percpu_v1(text, path)


def read_quota(directory: Path, version: int) -> float | None:
    """This cgroup's CFS quota in CPUs (quota / period); None for no quota or no cpu controller."""
    if version == 2:
        text = read_optional(child(directory, "cpu.max"), whole=True)
        if text is None:
            return None
        quota, every = cpu_max(text, child(directory, "cpu.max"))
    else:
        path = child(directory, "cpu.cfs_quota_us")
        text = read_optional(path, whole=True)  # absent without CONFIG_CFS_BANDWIDTH
        quota = None if text is None else v1_quota(text, path)
        if quota is None:
            return None
        path = child(directory, "cpu.cfs_period_us")
        every = period(read_text(path, whole=True), path)
    return None if quota is None else quota / every


def read_cpuset(directory: Path, version: int) -> tuple[int, ...] | None:
    """The CPUs the cgroup may run on (its effective cpuset); None where the cpuset controller is off.

    v2 names the file cpuset.cpus.effective, v1 cpuset.effective_cpus (older kernels: only cpuset.cpus)."""
    path = child(directory, "cpuset.cpus.effective" if version == 2 else "cpuset.effective_cpus")
    text = read_optional(path, whole=True)
    if text is None and version == 1:
        path = child(directory, "cpuset.cpus")
        text = read_text(path, whole=True)
    return None if text is None else cpulist(text, path)
