"""The containers tables — `cgscope containers`, `cgscope top` and the dashboard's first view: one row per
container and one for the host, each figure a column of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cgscope.fs.procfs import NS_TYPES
from cgscope.model.containers import Container, Inventory
from cgscope.model.derive import Usage
from cgscope.model.target import short_id
from cgscope.render.columns import (
    MEASURING_CELL,
    NONE,
    NONE_CELL,
    UNKNOWN,
    UNKNOWN_CELL,
    Cell,
    Column,
    percent,
)
from cgscope.units import size

HOST = "(host)"  # the host's row: processes in no container
SHARED_MARK = "*"  # after the name of a container whose cgroup holds other processes too


@dataclass(frozen=True)
class ContainerRow:
    """One row: a container, or the host (container None), with its usage where it was sampled."""

    container: Container | None
    inventory: Inventory
    primary: str | None  # the hierarchy whose path names the cgroup shown
    usage: Usage | None = None  # None: not sampled, or its counters are unreadable
    shared: bool = False  # its cgroup holds other processes too: its counters are not its alone

    @property
    def name(self) -> str:
        if self.container is None:
            return HOST
        return self.container.name + (SHARED_MARK if self.shared else "")

    @property
    def pids(self) -> tuple[int, ...]:
        return self.container.pids if self.container else self.inventory.host_pids

    @property
    def measuring(self) -> bool:
        """Sampled once only: levels are known, rates not yet."""
        u = self.usage
        return u is not None and u.interval is None and u.cpu is not None


def own_namespaces(c: Container) -> str:
    """The namespace types the container does not share with the host ("?" where unknown)."""
    own = [t for t in NS_TYPES if t not in c.shared_with_host]
    return ",".join(t if c.namespaces.get(t) is not None else f"{t}{UNKNOWN}" for t in own) or "none"


def cgroup_of(cgroups: Mapping[str, str], primary: str | None) -> str:
    """The cgroup that names a container's place: its path in the primary hierarchy, else its first."""
    if primary is not None and primary in cgroups:
        return cgroups[primary]
    return next(iter(cgroups.values()), NONE)


# -- identity ------------------------------------------------------------------------------------------


def _id(r: ContainerRow) -> Cell:
    c = r.container
    return Cell.of(short_id(c, r.inventory.containers) if c else NONE)


def _init(r: ContainerRow) -> Cell:
    if r.container is not None:
        return Cell.of(r.container.init_pid)
    return Cell.of(1) if 1 in r.inventory.host_pids else NONE_CELL


def _namespaces(r: ContainerRow) -> Cell:
    return Cell.of(own_namespaces(r.container) if r.container else NONE)


def _cgroup(r: ContainerRow) -> Cell:
    return Cell.of(cgroup_of(r.container.cgroup, r.primary) if r.container else "/")


# -- usage ---------------------------------------------------------------------------------------------


def _cpu(r: ContainerRow) -> Cell:
    if r.measuring:
        return MEASURING_CELL
    c = r.usage.cpu if r.usage else None
    return Cell.number(c.host_percent if c else None, percent(c.host_percent) if c else None)


def _cpu_limit(r: ContainerRow) -> Cell:
    if r.measuring:
        return MEASURING_CELL
    c = r.usage.cpu if r.usage else None
    share = c.limit_percent if c else None
    return UNKNOWN_CELL if share is None else Cell(f"{share:.1f}", share, share)


def _cpus(r: ContainerRow) -> Cell:
    c = r.usage.cpu if r.usage else None
    return Cell.number(c.limit_cpus if c else None, f"{c.limit_cpus:g}" if c else None)


def _throttled(r: ContainerRow) -> Cell:
    c = r.usage.cpu if r.usage else None
    if c is not None and c.quota_cpus is None:
        return NONE_CELL  # no quota: never throttled
    if r.measuring:
        return MEASURING_CELL
    value = c.throttled_percent if c else None
    return Cell.number(value, percent(value))


def _bytes(value: int | None) -> Cell:
    return UNKNOWN_CELL if value is None else Cell(size(value), value)


def _mem_usage(r: ContainerRow) -> Cell:
    m = r.usage.memory if r.usage else None
    return _bytes(m.usage_bytes if m else None)


def _wset(r: ContainerRow) -> Cell:
    m = r.usage.memory if r.usage else None
    return _bytes(m.working_set_bytes if m else None)


def _mem_limit(r: ContainerRow) -> Cell:
    m = r.usage.memory if r.usage else None
    if m is not None and m.limit_bytes is None:
        return NONE_CELL
    return _bytes(m.limit_bytes if m else None)


def _mem_percent(r: ContainerRow) -> Cell:
    m = r.usage.memory if r.usage else None
    if m is not None and m.limit_percent is None:
        return NONE_CELL
    value = m.limit_percent if m else None
    return Cell.number(value, percent(value))


def _memory(r: ContainerRow) -> Cell:
    """In use / limit ("-": none), sorted by the bytes in use, with the share for a bar."""
    m = r.usage.memory if r.usage else None
    if m is None:
        return UNKNOWN_CELL
    limit = size(m.limit_bytes) if m.limit_bytes else NONE
    return Cell(f"{size(m.usage_bytes)}/{limit}", m.usage_bytes, m.limit_percent)


def _tasks(r: ContainerRow) -> Cell:
    """The pids controller's count of tasks (threads), against its pids.max."""
    p = r.usage.pids if r.usage else None
    if p is None:
        return UNKNOWN_CELL
    return Cell(str(p.current) if p.max is None else f"{p.current}/{p.max}", p.current)


def _io(r: ContainerRow) -> Cell:
    io = r.usage.io if r.usage else None
    if io is None:
        return UNKNOWN_CELL
    total = io.read_bytes_per_s + io.write_bytes_per_s
    return Cell(f"{size(io.read_bytes_per_s)}/{size(io.write_bytes_per_s)}", total)


def _pressure(r: ContainerRow) -> Cell:
    """PSI "some" avg10 of cpu / memory / io."""
    psi = r.usage.pressure if r.usage else {}
    if not psi:
        return NONE_CELL
    kinds = ("cpu", "memory", "io")
    text = "/".join(f"{psi[k].some.avg10:.1f}" if k in psi else NONE for k in kinds)
    return Cell(text, max(p.some.avg10 for p in psi.values()))


def _oom(r: ContainerRow) -> Cell:
    m = r.usage.memory if r.usage else None
    return Cell.of(m.oom_kills if m else None)


COLUMNS: tuple[Column[ContainerRow], ...] = (
    Column("name", "NAME", lambda r: Cell.of(r.name), priority=0),
    Column("runtime", "RUNTIME", lambda r: Cell.of(r.container.runtime if r.container else NONE)),
    Column("id", "ID", _id, priority=2),
    Column("init", "INIT", _init, "right", priority=2),
    Column("pids", "PIDS", lambda r: Cell.of(len(r.pids)), "right"),
    Column("namespaces", "OWN NAMESPACES", _namespaces, priority=3),
    Column("cgroup", "CGROUP", _cgroup, priority=3, wrap=True),
    Column("cpu", "CPU%", _cpu, "right"),
    Column("cpus", "CPUS", _cpus, "right", priority=2),
    Column("cpu_limit", "%CPU LIM", _cpu_limit, "right", bar=True),
    Column("throttled", "THR%", _throttled, "right", priority=2),
    Column("mem_usage", "MEM", _mem_usage, "right"),
    Column("wset", "WSET", _wset, "right"),
    Column("mem_limit", "LIMIT", _mem_limit, "right"),
    Column("mem_percent", "%MEM", _mem_percent, "right"),
    Column("memory", "MEM/LIMIT", _memory, bar=True),
    Column("tasks", "TASKS", _tasks, "right", priority=2),
    Column("io", "IO R/W /s", _io, "right", priority=3),
    Column("pressure", "PSI c/m/io", _pressure, "right", priority=3),
    Column("oom", "OOM", _oom, "right", priority=2),
)

# Which columns each table shows, in order.
INVENTORY = ("name", "runtime", "id", "init", "pids", "namespaces", "cgroup")  # `cgscope containers`
USAGE = (  # `cgscope top`
    "name", "runtime", "cpu", "cpus", "cpu_limit", "throttled", "mem_usage", "wset", "mem_limit",
    "mem_percent", "tasks", "io", "pressure",
)  # fmt: skip
DASHBOARD = (  # the dashboard's containers view
    "name", "runtime", "pids", "cpu", "cpu_limit", "cpus", "memory", "throttled", "pressure", "oom", "id",
    "namespaces", "cgroup",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CgroupRow:
    """A container's cgroup in one hierarchy."""

    hierarchy: str
    version: int
    path: str


CGROUP_COLUMNS: tuple[Column[CgroupRow], ...] = (
    Column("hierarchy", "HIERARCHY", lambda r: Cell.of(r.hierarchy), priority=0),
    Column("version", "V", lambda r: Cell.of(r.version), "right"),
    Column("path", "CGROUP", lambda r: Cell.of(r.path), wrap=True),
)
