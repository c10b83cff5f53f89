"""A cgroup's memory: usage, memory.stat, OOM kills, swap and the limits (v1 and v2).

Formats: Documentation/admin-guide/cgroup-v2.rst (memory.current, .stat, .events, .max, .swap.*),
cgroup-v1/memory.rst (memory.usage_in_bytes, .stat, .oom_control, .swappiness).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cgscope.fs.cgfile import optional_limit, read_keyed, read_number
from cgscope.fs.files import child, read_optional
from cgscope.fs.parse import UNLIMITED, integer, single_integer


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


# What read_memory_v1 and read_memory_v2 take of memory.stat.
_V1_KEYS = frozenset(_V1_STAT.values()) | {"hierarchical_memory_limit", "hierarchical_memsw_limit"}
_V2_KEYS = frozenset(_V2_STAT.values())


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
    events: Mapping[str, int] | None = None  # v2 memory.events: low, high, max, oom, oom_kill (and below)

    @property
    def working_set(self) -> int:
        """Usage minus the inactive file cache, floored at 0 (kubectl top, cAdvisor, docker stats)."""
        return max(0, self.usage - self.stat.inactive_file)


def read_memory_v2(directory: Path, events: bool = True) -> MemoryCounters | None:
    """memory.current, .stat, .events and .swap.current; None where the memory controller is off.
    `events=False`: memory.events is left unread (oom_kills and events None; read_memory_events).

    The limits are left None: the one the kernel applies is the smallest memory.max (memory.swap.max) on
    the path to the root, which the caller reads with read_memory_max (read_swap_max), once per ancestor."""
    current = read_optional(child(directory, "memory.current"), whole=True)
    if current is None:
        return None
    counts = read_keyed(child(directory, "memory.events")) if events else None
    swap = read_optional(child(directory, "memory.swap.current"), whole=True)
    return MemoryCounters(
        single_integer(current, child(directory, "memory.current")),
        memory_stat(read_keyed(child(directory, "memory.stat"), _V2_KEYS), 2),
        None,
        None if swap is None else single_integer(swap, child(directory, "memory.swap.current")),
        None,
        None if counts is None else counts.get("oom_kill"),
        counts,
    )


def read_memory_v1(directory: Path, events: bool = True) -> MemoryCounters:
    """memory.usage_in_bytes, memory.stat, memory.oom_control (oom_kill: Linux 4.13+); `events=False`:
    memory.oom_control is left unread (oom_kills None; read_oom_kills_v1).

    memory.stat's hierarchical_memory_limit is already the smallest limit on the path to the root;
    hierarchical_memsw_limit bounds memory + swap, so swap may use what it leaves above memory."""
    raw = read_keyed(child(directory, "memory.stat"), _V1_KEYS)
    stat = memory_stat(raw, 1)
    limit = _unlimited_none(raw.get("hierarchical_memory_limit"))
    memsw = _unlimited_none(raw.get("hierarchical_memsw_limit"))  # absent without swap accounting
    swap_limit = None if memsw is None else max(0, memsw - (limit or 0))
    oom = read_oom_kills_v1(directory) if events else None
    return MemoryCounters(
        read_number(child(directory, "memory.usage_in_bytes")), stat, limit, stat.swap, swap_limit, oom
    )


def read_oom_kills_v1(directory: Path) -> int | None:
    """memory.oom_control's oom_kill: processes the OOM killer ended in the cgroup (None before 4.13)."""
    return read_keyed(child(directory, "memory.oom_control")).get("oom_kill")


def _unlimited_none(value: int | None) -> int | None:
    return None if value is None or value >= UNLIMITED else value


def read_memory_max(directory: Path) -> int | None:
    """v2 memory.max in bytes; None for no limit or no memory controller."""
    return optional_limit(child(directory, "memory.max"))


def read_swap_max(directory: Path) -> int | None:
    """v2 memory.swap.max in bytes; None for no limit or no swap accounting."""
    return optional_limit(child(directory, "memory.swap.max"))


def read_swappiness(directory: Path) -> int | None:
    """v1 memory.swappiness (v2 has no per-cgroup swappiness)."""
    path = child(directory, "memory.swappiness")
    text = read_optional(path, whole=True)
    return None if text is None else integer(text.strip("\n"), path)
