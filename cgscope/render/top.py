"""What `cgscope top` shows, as Tables (for people) and JSON-ready dicts (for scripts); the dashboard
uses the same rows. Schema: docs/top.md."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cgscope.model.derive import ContainerUsage, CpuUsage, IoUsage, MemoryUsage, ProcessUsage, Usage
from cgscope.render.table import Column, Table
from cgscope.render.views import HOST, container_ref

OVERVIEW_COLUMNS = (
    Column("NAME"),
    Column("RUNTIME"),
    Column("CPU%", "right"),
    Column("CPUS", "right"),
    Column("%LIM", "right"),
    Column("THR%", "right"),
    Column("MEM", "right"),
    Column("WSET", "right"),
    Column("LIMIT", "right"),
    Column("%MEM", "right"),
    Column("PIDS", "right"),
    Column("IO R/W /s", "right"),
    Column("PSI c/m/io", "right"),
)
PROCESS_COLUMNS = (
    Column("PID", "right"),
    Column("NSPID", "right"),
    Column("USER"),
    Column("S"),
    Column("CPU%", "right"),
    Column("RSS", "right"),
    Column("%MEM", "right"),
    Column("COMMAND", wrap=True),
)
SHARED_MARK = "*"


# -- formatting ----------------------------------------------------------------------------------------


def cpulist(cpus: Iterable[int]) -> str:
    """(0, 1, 2, 5) -> "0-2,5", as the kernel writes CPU lists."""
    ranges: list[list[int]] = []
    for c in sorted(cpus):
        if ranges and c == ranges[-1][1] + 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def size(n: float | None) -> str | None:
    """Bytes with binary prefixes, as top shows memory: 512, 1.5K, 100.0M, 2.3G."""
    if n is None:
        return None
    value = float(n)
    for unit in ("", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            return f"{value:.0f}" if not unit else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def pct(x: float | None) -> str | None:
    return None if x is None else f"{x:.1f}"


def _round(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


# -- JSON ----------------------------------------------------------------------------------------------


def cpu_json(c: CpuUsage | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "host_percent": _round(c.host_percent),
        "limit_cpus": _round(c.limit_cpus, 3),
        "limit_percent": _round(c.limit_percent),
        "throttled_percent": _round(c.throttled_percent),
        "throttled_seconds": _round(c.throttled_seconds, 3),
        "quota_cpus": _round(c.quota_cpus, 3),
        "cpuset": cpulist(c.cpuset),
    }


def memory_json(m: MemoryUsage | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "usage_bytes": m.usage_bytes,
        "working_set_bytes": m.working_set_bytes,
        "limit_bytes": m.limit_bytes,
        "limit_percent": _round(m.limit_percent),
        "anon_bytes": m.anon_bytes,
        "file_bytes": m.file_bytes,
        "swap_bytes": m.swap_bytes,
        "oom_kills": m.oom_kills,
    }


def io_json(io: IoUsage | None) -> dict[str, Any] | None:
    if io is None:
        return None
    return {
        "read_bytes_per_s": round(io.read_bytes_per_s),
        "write_bytes_per_s": round(io.write_bytes_per_s),
        "read_ops_per_s": _round(io.read_ops_per_s),
        "write_ops_per_s": _round(io.write_ops_per_s),
    }


def usage_json(u: Usage) -> dict[str, Any]:
    """cpu, memory, pids, io and pressure of one row (host or container); null where unknown."""
    return {
        "cpu": cpu_json(u.cpu),
        "memory": memory_json(u.memory),
        "tasks": None if u.pids is None else {"current": u.pids.current, "max": u.pids.max},
        "io": io_json(u.io),
        "pressure": {
            kind: {
                "some": {"avg10": p.some.avg10, "avg60": p.some.avg60},
                "full": None if p.full is None else {"avg10": p.full.avg10, "avg60": p.full.avg60},
            }
            for kind, p in u.pressure.items()
        }
        or None,
    }


def host_json(identity: tuple[str, str], mode: str, u: Usage) -> dict[str, Any]:
    return {
        "hostname": identity[0],
        "kernel": identity[1],
        "cgroup_mode": mode,
        "interval_seconds": _round(u.interval, 3),
        **usage_json(u),
    }


def container_json(row: ContainerUsage) -> dict[str, Any]:
    c = row.watched.container
    return {
        **container_ref(c),
        "cgroup": dict(c.cgroup),
        "shared_cgroup": row.watched.shared,
        **usage_json(row.usage),
    }


def process_json(p: ProcessUsage) -> dict[str, Any]:
    return {
        "pid": p.process.pid,
        "nspid": p.process.nspid,
        "user": p.process.user,
        "state": p.state,
        "cpu_percent": _round(p.cpu_percent),
        "rss_bytes": p.rss_bytes,
        "memory_percent": _round(p.memory_percent),
        "command": p.process.command,
    }


# -- tables --------------------------------------------------------------------------------------------


def _cells(u: Usage) -> list[str | None]:
    c, m, p, io = u.cpu, u.memory, u.pids, u.io
    psi = None
    if u.pressure:
        kinds = ("cpu", "memory", "io")
        psi = "/".join(f"{u.pressure[k].some.avg10:.1f}" if k in u.pressure else "-" for k in kinds)
    return [
        pct(c.host_percent) if c else None,
        f"{c.limit_cpus:g}" if c else None,
        pct(c.limit_percent) if c else None,
        pct(c.throttled_percent) if c else None,
        size(m.usage_bytes) if m else None,
        size(m.working_set_bytes) if m else None,
        size(m.limit_bytes) if m else None,
        pct(m.limit_percent) if m else None,
        None if p is None else (str(p.current) if p.max is None else f"{p.current}/{p.max}"),
        f"{size(io.read_bytes_per_s)}/{size(io.write_bytes_per_s)}" if io else None,
        psi,
    ]


def overview_table(host: Usage, rows: Iterable[ContainerUsage]) -> Table:
    """The host first, then each container; a container whose cgroup is shared is marked with "*"."""
    table = Table(list(OVERVIEW_COLUMNS))
    table.add(HOST, "-", *_cells(host))
    for row in rows:
        c = row.watched.container
        name = c.name + (SHARED_MARK if row.watched.shared else "")
        table.add(name, c.runtime, *_cells(row.usage))
    return table


def processes_table(rows: Iterable[ProcessUsage]) -> Table:
    table = Table(list(PROCESS_COLUMNS))
    for u in rows:
        p = u.process
        table.add(
            p.pid, p.nspid, p.user, u.state, pct(u.cpu_percent), size(u.rss_bytes), pct(u.memory_percent),
            p.command,
        )  # fmt: skip
    return table


def title(identity: tuple[str, str], mode: str, interval: float | None) -> str:
    every = "one sample" if interval is None else f"over {interval:.1f} s"
    return f"{identity[0]} · kernel {identity[1]} · cgroup {mode} · {every}"
