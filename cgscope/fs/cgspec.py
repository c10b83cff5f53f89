"""A cgroup's own settings and event counts, as cAdvisor reports them: the CFS quota and period and the
CPU weight of the cgroup itself (not the smallest on the path to the root), v1's user/system split and
memory.failcnt, and v2's memory.events.

Formats: Documentation/admin-guide/cgroup-v2.rst (cpu.max, cpu.weight, memory.events),
cgroup-v1/cpuacct.rst (cpuacct.stat), cgroup-v1/memory.rst (memory.failcnt), scheduler/sched-bwc.rst.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cgscope.errors import InvalidFormat
from cgscope.fs.cgfile import optional_number
from cgscope.fs.files import child, read_optional, read_text
from cgscope.fs.parse import cpu_max, flat_keyed, period, v1_quota


@dataclass(frozen=True, slots=True)
class CpuSpec:
    quota_us: int | None  # CFS quota per period, microseconds; None: no quota
    period_us: int
    shares: int | None  # v1 cpu.shares, or v2 cpu.weight in shares (see weight_to_shares)


def weight_to_shares(weight: int) -> int:
    """v2 cpu.weight (1-10000, default 100) as v1 shares (2-262144, default 1024), the inverse of the
    mapping runc and systemd write (shares -> weight), as cAdvisor reports v2 weights."""
    return 2 + (weight - 1) * 262142 // 9999


def read_cpu_spec(directory: Path, version: int) -> CpuSpec | None:
    """The cgroup's own CFS bandwidth and weight; None where it has no cpu controller files (v1
    without CONFIG_CFS_BANDWIDTH has shares but no period: None too)."""
    if version == 2:
        text = read_optional(child(directory, "cpu.max"), whole=True)
        if text is None:
            return None
        quota, every = cpu_max(text, child(directory, "cpu.max"))
        weight = optional_number(child(directory, "cpu.weight"))
        return CpuSpec(quota, every, None if weight is None else weight_to_shares(weight))
    period_text = read_optional(child(directory, "cpu.cfs_period_us"), whole=True)
    if period_text is None:
        return None
    quota_path = child(directory, "cpu.cfs_quota_us")
    return CpuSpec(
        v1_quota(read_text(quota_path, whole=True), quota_path),
        period(period_text, child(directory, "cpu.cfs_period_us")),
        optional_number(child(directory, "cpu.shares")),
    )


def read_cpuacct_stat(directory: Path) -> tuple[int, int] | None:
    """v1 cpuacct.stat: (user, system) in USER_HZ clock ticks, this cgroup and below."""
    text = read_optional(child(directory, "cpuacct.stat"), whole=True)
    if text is None:
        return None
    path = child(directory, "cpuacct.stat")
    counts = flat_keyed(text, path)
    if "user" not in counts or "system" not in counts:
        raise InvalidFormat(path, None, "no user and system lines")
    return counts["user"], counts["system"]


def read_memory_events(directory: Path) -> dict[str, int] | None:
    """v2 memory.events: low, high, max, oom, oom_kill (and oom_group_kill on 5.17+), this cgroup and
    below (memory.events.local holds the cgroup's own)."""
    text = read_optional(child(directory, "memory.events"), whole=True)
    return None if text is None else flat_keyed(text, child(directory, "memory.events"))


def read_failcnt(directory: Path) -> int | None:
    """v1 memory.failcnt: how often usage hit memory.limit_in_bytes."""
    return optional_number(child(directory, "memory.failcnt"))
