"""The /proc files a container's processes would read under LXCFS, in the kernel's exact formats.

Pure functions of ViewInputs (model/usage.py read_view). They follow LXCFS (src/proc_fuse.c,
src/proc_cpuview.c with --enable-cfs, src/proc_loadavg.c, src/sysfs_fuse.c) and do better where LXCFS
falls back to the host's file on cgroup v2 (/proc/stat, diskstats) or lacks data; docs/top.md lists each
difference. Where the cgroup offers nothing (no controller), the host's file is returned unchanged, as
LXCFS does.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from cgscope.fs.system import elapsed_ticks
from cgscope.model.derive import allowance
from cgscope.model.usage import ViewInputs

# -- CPUs ----------------------------------------------------------------------------------------------


def usable_cpus(v: ViewInputs) -> tuple[int, ...]:
    """The cpuset's CPUs that are online (the host's online CPUs if none is)."""
    return _usable(v.sample.cpus, v.host.online)


def _usable(cpus: tuple[int, ...], online: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(c for c in cpus if c in online) or online


def visible_cpus(v: ViewInputs) -> tuple[int, ...]:
    """The host CPUs the container sees, in order: its usable cpuset, and with a quota no more than
    ceil(quota / period) of them (LXCFS --enable-cfs, max_cpu_count)."""
    return visible_cpu_set(v.sample.cpus, v.host.online, v.sample.quota)


def visible_cpu_set(cpus: tuple[int, ...], online: tuple[int, ...], quota: float | None) -> tuple[int, ...]:
    """visible_cpus of a cgroup whose cpuset is `cpus` and CFS quota `quota` CPUs, on a host whose
    online CPUs are `online`."""
    usable = _usable(cpus, online)
    return usable if quota is None else usable[: max(1, math.ceil(round(quota, 6)))]


def online(v: ViewInputs) -> str:
    """/sys/devices/system/cpu/online: the visible CPUs, numbered from 0."""
    n = len(visible_cpus(v))
    return "0\n" if n == 1 else f"0-{n - 1}\n"


def cpuinfo(v: ViewInputs) -> str:
    """The host's blocks for the visible CPUs, renumbered from 0 ("processor\\t: N")."""
    head, blocks = v.host.cpu_blocks
    out = list(head)
    for i, cpu in enumerate(c for c in visible_cpus(v) if c in blocks):
        out.append(f"processor\t: {i}\n")
        out.extend(blocks[cpu][1:])
    return "".join(out)


def stat(v: ViewInputs) -> str:
    """/proc/stat: one line per visible CPU with the container's own user and system time and an idle
    time that makes each line add up to that CPU's share of the allowance; the other lines are the
    host's, but procs_running and procs_blocked count the container's threads."""
    host_cpus = v.host.cpu_times
    cpus = [c for c in visible_cpus(v) if c in host_cpus]
    share = allowance(usable_cpus(v), v.sample.quota) / len(cpus) if cpus else 0.0
    used = _split_usage(v, cpus)
    lines: list[list[int]] = []
    for c in cpus:
        if used is None:  # no CPU accounting: the host's line, as LXCFS falls back to
            lines.append(list(host_cpus[c]))
            continue
        user, system = used[c]
        idle = max(0, int(elapsed_ticks(host_cpus[c]) * share) - user - system)
        lines.append([user, 0, system, idle, 0, 0, 0, 0, 0, 0])
    total = [sum(col) for col in zip(*lines, strict=True)] if lines else [0] * 10
    out = ["cpu  " + " ".join(map(str, total))]
    out += [f"cpu{i} " + " ".join(map(str, fields)) for i, fields in enumerate(lines)]
    running = sum(t.state == "R" for t in v.tasks)
    blocked = sum(t.state == "D" for t in v.tasks)
    mine = {"procs_running": running, "procs_blocked": blocked}
    for line in v.host.stat.splitlines():
        key = line.partition(" ")[0]
        if not key.startswith("cpu"):
            out.append(f"{key} {mine[key]}" if key in mine else line)
    return "\n".join(out) + "\n"


def _split_usage(v: ViewInputs, cpus: list[int]) -> dict[int, tuple[int, int]] | None:
    """(user, system) clock ticks per visible CPU. Time the kernel attributes to a visible CPU (v1
    cpuacct.usage_all) stays there; the rest (v2 has no per-CPU split; time on CPUs not shown) is spread
    evenly over the visible CPUs."""
    cpu = v.sample.cpu
    if cpu is None or not cpus:
        return None
    if v.percpu is not None:
        user_total = sum(u for u, _ in v.percpu.values())
        system_total = sum(s for _, s in v.percpu.values())
    else:
        system_total = cpu.system_ns or 0
        user_total = cpu.user_ns if cpu.user_ns is not None else cpu.usage_ns - system_total
    own = {c: (v.percpu or {}).get(c, (0, 0)) for c in cpus}
    rest_user = user_total - sum(u for u, _ in own.values())
    rest_system = system_total - sum(s for _, s in own.values())
    n = len(cpus)
    return {
        c: (
            _ticks(own[c][0] + rest_user / n, v.ticks),
            _ticks(own[c][1] + rest_system / n, v.ticks),
        )
        for c in cpus
    }


def _ticks(ns: float, hz: int) -> int:
    return int(ns * hz // 1_000_000_000)


# -- memory --------------------------------------------------------------------------------------------


def _swap_kb(v: ViewInputs, host: dict[str, int]) -> tuple[int, int]:
    """(SwapTotal, SwapFree) in kB: the swap the cgroup may use (v2 memory.swap.max, v1 memsw minus the
    memory limit; the host's where unlimited), capped at the host's. No swap accounting: no swap, as
    LXCFS shows; swappiness 0: total = what is in use (LXCFS: "pretend we can't swap")."""
    m = v.sample.memory
    if m is None or m.swap is None:
        return 0, 0
    used = m.swap // 1024
    total = host.get("SwapTotal", 0)
    if m.swap_limit is not None:
        total = min(total, m.swap_limit // 1024)
    if v.swappiness == 0:
        total = used
    return total, max(0, total - used)


def meminfo(v: ViewInputs) -> str:
    """LXCFS's meminfo: MemTotal is the effective limit capped at the host's RAM, MemFree what usage
    leaves of it, MemAvailable adds the reclaimable page cache, and the LRU, anon and file lines come
    from the cgroup's memory.stat."""
    m = v.sample.memory
    if m is None:
        return v.host.meminfo
    host = v.host.memory_kb
    s = m.stat
    total = host["MemTotal"] if m.limit is None else min(host["MemTotal"], m.limit // 1024)
    free = max(0, total - m.usage // 1024)
    swap_total, swap_free = _swap_kb(v, host)
    kb: dict[str, int] = {
        "MemTotal": total,
        "MemFree": free,
        "MemAvailable": min(total, free + (s.active_file + s.inactive_file) // 1024),
        "Buffers": 0,
        "Cached": s.file // 1024,
        "SwapCached": 0,
        "Active": (s.active_anon + s.active_file) // 1024,
        "Inactive": (s.inactive_anon + s.inactive_file) // 1024,
        "Active(anon)": s.active_anon // 1024,
        "Inactive(anon)": s.inactive_anon // 1024,
        "Active(file)": s.active_file // 1024,
        "Inactive(file)": s.inactive_file // 1024,
        "Unevictable": s.unevictable // 1024,
        "SwapTotal": swap_total,
        "SwapFree": swap_free,
        "Dirty": s.dirty // 1024,
        "Writeback": s.writeback // 1024,
        "AnonPages": s.anon // 1024,
        "Mapped": s.mapped // 1024,
        "Shmem": s.shmem // 1024,
        "Slab": ((s.slab_reclaimable or 0) + (s.slab_unreclaimable or 0)) // 1024,
        "SReclaimable": (s.slab_reclaimable or 0) // 1024,
        "SUnreclaim": (s.slab_unreclaimable or 0) // 1024,
        "AnonHugePages": s.anon_thp // 1024,
        "ShmemHugePages": 0,
        "ShmemPmdMapped": 0,
    }
    if s.slab_reclaimable is not None:  # v2 only: v1 keeps the host's KReclaimable, as LXCFS does
        kb["KReclaimable"] = s.slab_reclaimable // 1024
    if s.kernel_stack is not None:  # v2 only; v1 keeps the host's lines, as LXCFS does
        kb["KernelStack"] = s.kernel_stack // 1024
    if s.pagetables is not None:
        kb["PageTables"] = s.pagetables // 1024
    out = []
    for line in v.host.meminfo.splitlines():
        key = line.partition(":")[0]
        # fs/proc/meminfo.c show_val_kb: the label padded to 16 columns, the value to 8, then " kB"
        out.append(f"{key + ':':<16}{kb[key]:>8} kB" if key in kb else line)
    return "\n".join(out) + "\n"


def swaps(v: ViewInputs) -> str:
    """The host's header, then one "none ... virtual" device of the cgroup's swap (LXCFS), laid out as
    mm/swapfile.c swap_show lays out a device; no device when the cgroup may not swap."""
    if v.sample.memory is None:
        return v.host.swaps
    header = v.host.swaps.partition("\n")[0]
    total, free = _swap_kb(v, v.host.memory_kb)
    if total <= 0:
        return header + "\n"
    used = total - free
    pad_total = "\t" if total < 10_000_000 else ""
    pad_used = "\t" if used < 10_000_000 else ""
    return f"{header}\n{'none':<40}virtual\t\t{total}\t{pad_total}{used}\t{pad_used}0\n"


# -- time and load -------------------------------------------------------------------------------------


def _hundredths(seconds: float) -> str:
    """ "%lu.%02lu" as fs/proc/uptime.c prints: truncated, not rounded."""
    n = int(max(0.0, seconds) * 100)
    return f"{n // 100}.{n % 100:02d}"


def uptime(v: ViewInputs) -> str:
    """Seconds since the container's init started, and idle time: what the allowance left unused over
    that time (summed over CPUs, as the kernel sums idle)."""
    age = v.host.uptime_s - v.init_start_ticks / v.ticks
    cpu = v.sample.cpu
    busy = cpu.usage_ns / 1_000_000_000 if cpu is not None else 0.0
    idle = age * allowance(usable_cpus(v), v.sample.quota) - busy
    return f"{_hundredths(age)} {_hundredths(idle)}\n"


def loadavg(v: ViewInputs) -> str:
    """Load averages from the container's threads that are running or in uninterruptible sleep (the
    kernel's nr_active), then running/total threads and the highest pid in the container's namespace.

    A load average is a decaying mean over samples taken every 5 s (kernel/sched/loadavg.c); LXCFS keeps
    a daemon sampling each container. One reading has one sample, so the three averages are its count."""
    active = sum(t.state in ("R", "D") for t in v.tasks)
    running = sum(t.state == "R" for t in v.tasks)
    depth = max((t.depth for t in v.tasks), default=0)
    last = max((t.nspid for t in v.tasks if t.nspid is not None and t.depth == depth), default=0)
    return f"{active}.00 {active}.00 {active}.00 {running}/{len(v.tasks)} {last}\n"


# -- block devices -------------------------------------------------------------------------------------


def diskstats(v: ViewInputs) -> str:
    """The devices the cgroup did I/O on, with its reads, writes and discards (and their sectors) in the
    kernel's columns (block/genhd.c diskstats_show); merges, times and in-flight counts are not kept per
    cgroup and read 0, as in LXCFS."""
    io = v.sample.io
    if io is None:
        return v.host.diskstats
    out = []
    for line in v.host.disks:
        d = io.get((line.major, line.minor))
        if d is None or not any((d.read_ops, d.write_ops, d.discard_ops, d.read_bytes, d.write_bytes)):
            continue
        fields = [
            d.read_ops, 0, d.read_bytes // 512, 0, d.write_ops, 0, d.write_bytes // 512, 0, 0, 0, 0,
            d.discard_ops, 0, d.discard_bytes // 512, 0, 0, 0,
        ]  # fmt: skip
        values = " ".join(map(str, fields[: len(line.fields)]))
        out.append(f"{line.major:4d} {line.minor:7d} {line.name} {values}\n")
    return "".join(out)


# name -> (the path a process reads it at, its renderer)
VIEWS: dict[str, tuple[str, Callable[[ViewInputs], str]]] = {
    "meminfo": ("/proc/meminfo", meminfo),
    "cpuinfo": ("/proc/cpuinfo", cpuinfo),
    "stat": ("/proc/stat", stat),
    "uptime": ("/proc/uptime", uptime),
    "loadavg": ("/proc/loadavg", loadavg),
    "swaps": ("/proc/swaps", swaps),
    "diskstats": ("/proc/diskstats", diskstats),
    "online": ("/sys/devices/system/cpu/online", online),
}
FILES = {name: path for name, (path, _) in VIEWS.items()}


def render(name: str, v: ViewInputs) -> str:
    return VIEWS[name][1](v)
