"""What `cgscope top` shows, as Tables (for people, from render/columns as the dashboard's) and JSON-ready
dicts (for scripts). Schema: docs/top.md."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cgscope.model.borrowed import MEASURED_ORDER
from cgscope.model.containers import Container, Inventory
from cgscope.model.derive import ContainerUsage, CpuUsage, IoUsage, MemoryUsage, ProcessUsage, Usage
from cgscope.model.state import ContainerState
from cgscope.render.columns import containers, pick, processes, table
from cgscope.render.columns.containers import ContainerRow
from cgscope.render.columns.processes import ProcessRow
from cgscope.render.table import Table
from cgscope.render.views import container_ref, inside_pid, state_json
from cgscope.units import cpulist

# -- JSON ----------------------------------------------------------------------------------------------


def _round(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


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


def io_json(io: IoUsage | None, ops: bool = True) -> dict[str, Any] | None:
    """`ops`: false for figures from processes (/proc/PID/io counts bytes, not the block layer's ops)."""
    if io is None:
        return None
    return {
        "read_bytes_per_s": round(io.read_bytes_per_s),
        "write_bytes_per_s": round(io.write_bytes_per_s),
        "read_ops_per_s": _round(io.read_ops_per_s) if ops else None,
        "write_ops_per_s": _round(io.write_ops_per_s) if ops else None,
    }


def usage_json(u: Usage) -> dict[str, Any]:
    """cpu, memory, pids, io and pressure of one row (host or container); null where unknown."""
    return {
        "cpu": cpu_json(u.cpu),
        "memory": memory_json(u.memory),
        "tasks": None if u.pids is None else {"current": u.pids.current, "max": u.pids.max},
        "io": io_json(u.io, ops=u.source_of("io") == "cgroup"),
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


def container_json(row: ContainerUsage, state: ContainerState | None = None) -> dict[str, Any]:
    c = row.watched.container
    return {
        **container_ref(c),
        "state": state_json(state),
        "cgroup": dict(c.cgroup),
        "shared_cgroup": row.watched.shared,
        "source": row.usage.source,
        "sources": {figure: row.usage.source_of(figure) for figure in MEASURED_ORDER},
        **usage_json(row.usage),
    }


def process_json(p: ProcessUsage, container: Container | None = None) -> dict[str, Any]:
    return {
        "pid": p.process.pid,
        "nspid": inside_pid(p.process, container),
        "user": p.process.user,
        "state": p.state,
        "cpu_percent": _round(p.cpu_percent),
        "rss_bytes": p.rss_bytes,
        "memory_percent": _round(p.memory_percent),
        "threads": p.threads,
        "command": p.process.command,
    }


# -- tables --------------------------------------------------------------------------------------------


def overview_table(
    host: Usage,
    rows: Iterable[ContainerUsage],
    inv: Inventory,
    primary: str | None,
    states: Mapping[str, ContainerState],
) -> Table:
    """The host first, then each container; a container whose cgroup is shared is marked with "*"."""
    listed = [ContainerRow(None, inv, primary, host)]
    for r in rows:
        c = r.watched.container
        marked = r.watched.shared or bool(r.usage.from_processes)
        listed.append(ContainerRow(c, inv, primary, r.usage, marked, states.get(c.id)))
    return table(pick(containers.COLUMNS, containers.USAGE), listed)


def processes_table(rows: Iterable[ProcessUsage], container: Container | None = None) -> Table:
    listed = [ProcessRow(u.process, container, u) for u in rows]
    return table(pick(processes.COLUMNS, processes.USAGE), listed)


def title(identity: tuple[str, str], mode: str, interval: float | None) -> str:
    every = "one sample" if interval is None else f"over {interval:.1f} s"
    return f"{identity[0]} · kernel {identity[1]} · cgroup {mode} · {every}"
