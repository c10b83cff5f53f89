"""The containers tables — `cgscope containers`, `cgscope top` and the dashboard's first view: one row per
container and one for the host, each figure a column of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from cgscope.fs.procfs import NS_TYPES
from cgscope.model.containers import Container, Inventory
from cgscope.model.derive import MemoryUsage, Usage
from cgscope.model.state import ContainerState
from cgscope.model.target import short_ids
from cgscope.render.columns import (
    MEASURING_CELL,
    NONE,
    NONE_CELL,
    THROTTLED_WARNING,
    UNKNOWN,
    UNKNOWN_CELL,
    Cell,
    Column,
    Level,
    percent,
    share_level,
    worst,
)
from cgscope.units import size

HOST = "(host)"  # the host's row: processes in no container
SHARED_MARK = "*"  # after the name of a container a cgroup of which holds others: figures its processes'


@dataclass(frozen=True)
class ContainerRow:
    """One row: a container, or the host (container None), with its usage where it was sampled. Two
    rows are equal when their cells are: what a row takes from its inventory is compared, not the
    inventory (a dashboard compares each row with the last refresh's)."""

    container: Container | None
    inventory: Inventory = field(compare=False)
    primary: str | None  # the hierarchy whose path names the cgroup shown
    # None: not sampled, or its counters are unreadable. Compared without its interval, which no cell
    # shows and which differs by milliseconds every refresh: an idle container's row stays equal.
    usage: Usage | None = field(default=None, compare=False)
    shared: bool = False  # a cgroup of it holds other processes too: those figures are its processes'
    state: ContainerState | None = None  # None: not read (the host's row has none)
    short_id: str = field(init=False)  # its id, as short as the other containers' ids allow
    pids: tuple[int, ...] = field(init=False)
    figures: Usage | None = field(init=False)  # usage, its interval left out
    measuring: bool = field(init=False)  # sampled once only: levels are known, rates not yet

    def __post_init__(self) -> None:
        c, inv, u = self.container, self.inventory, self.usage
        object.__setattr__(self, "short_id", _short_ids(inv.containers)[c.id] if c else NONE)
        object.__setattr__(self, "pids", c.pids if c else inv.host_pids)
        object.__setattr__(self, "figures", replace(u, interval=None) if u is not None else None)
        object.__setattr__(self, "measuring", u is not None and u.interval is None and u.cpu is not None)

    @property
    def name(self) -> str:
        if self.container is None:
            return HOST
        return self.container.name + (SHARED_MARK if self.shared else "")


class _ShortIds:
    """model/target.short_ids, read once for the same ids (the last ones asked for): a refresh finds
    the same containers again, in a new inventory."""

    def __init__(self) -> None:
        self.last: tuple[tuple[Container, ...], tuple[str, ...], dict[str, str]] = ((), (), {})

    def __call__(self, containers: tuple[Container, ...]) -> dict[str, str]:
        if self.last[0] is not containers:
            ids = tuple(c.id for c in containers)
            self.last = (containers, ids, self.last[2] if ids == self.last[1] else short_ids(containers))
        return self.last[2]


_short_ids = _ShortIds()


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


def _name(r: ContainerRow) -> Cell:
    """The name, in the colour of the row's worst figure: trouble shows even where its column gave way
    (the host's OOM kills since boot are history: its own column says them)."""
    cells = (_state(r), _cpu_limit(r), _throttled(r), _memory(r), *((_oom(r),) if r.container else ()))
    return replace(Cell.of(r.name), level=worst(*(c.level for c in cells)))


def _state(r: ContainerRow) -> Cell:
    """running, frozen, freezing, or paused (frozen by its runtime, which records it)."""
    s = r.state
    if r.container is None or s is None:
        return NONE_CELL if r.container is None else UNKNOWN_CELL
    level: Level | None = "warning" if s.activity != "running" or s.stale_pause else None
    return Cell(s.activity or UNKNOWN, s.activity, level=level)


def _id(r: ContainerRow) -> Cell:
    return Cell.of(r.short_id)


def _init(r: ContainerRow) -> Cell:
    if r.container is not None:
        return Cell.of(r.container.init_pid)
    return Cell.of(1) if 1 in r.pids else NONE_CELL


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
    return UNKNOWN_CELL if share is None else Cell(f"{share:.1f}", share, share, share_level(share))


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
    cell = Cell.number(value, percent(value))
    return replace(cell, level="warning") if value is not None and value > THROTTLED_WARNING else cell


def _bytes(value: int | None) -> Cell:
    return UNKNOWN_CELL if value is None else Cell(size(value), value)


def _wset(r: ContainerRow) -> Cell:
    m = r.usage.memory if r.usage else None
    return _bytes(m.working_set_bytes if m else None)


def _mem_limit(r: ContainerRow) -> Cell:
    m = r.usage.memory if r.usage else None
    if m is not None and m.limit_bytes is None:
        return NONE_CELL
    return _bytes(m.limit_bytes if m else None)


def working_set_share(m: MemoryUsage) -> float | None:
    """The working set as a share of the limit (%): what the kernel cannot reclaim before it OOM-kills."""
    return m.working_set_bytes / m.limit_bytes * 100 if m.limit_bytes else None


def _mem_percent(r: ContainerRow) -> Cell:
    m = r.usage.memory if r.usage else None
    if m is not None and m.limit_bytes is None:
        return NONE_CELL
    value = working_set_share(m) if m else None
    return replace(Cell.number(value, percent(value)), level=share_level(value))


def _memory(r: ContainerRow) -> Cell:
    """The working set / the limit ("-": none), sorted by the working set, with its share for a bar."""
    m = r.usage.memory if r.usage else None
    if m is None:
        return UNKNOWN_CELL
    limit = size(m.limit_bytes) if m.limit_bytes else NONE
    share = working_set_share(m)
    return Cell(f"{size(m.working_set_bytes)}/{limit}", m.working_set_bytes, share, share_level(share))


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
    kills = m.oom_kills if m else None
    return replace(Cell.of(kills), level="error") if kills else Cell.of(kills)


# Priorities: on 80 columns the name, state, CPU and memory against their limits stay (1); then what
# tells containers apart (2: id, init); then the rest.
COLUMNS: tuple[Column[ContainerRow], ...] = (
    Column("name", "NAME", _name, priority=0),
    Column("runtime", "RUNTIME", lambda r: Cell.of(r.container.runtime if r.container else NONE), priority=3),
    Column("state", "STATE", _state),
    Column("id", "ID", _id, priority=2),
    Column("init", "INIT", _init, "right", priority=2),
    Column("pids", "PIDS", lambda r: Cell.of(len(r.pids)), "right", priority=3),
    Column("namespaces", "OWN NAMESPACES", _namespaces, priority=5),
    Column("cgroup", "CGROUP", _cgroup, priority=6, wrap=True),
    Column("cpu", "CPU%", _cpu, "right"),
    Column("cpus", "CPUS", _cpus, "right", priority=4),
    Column("cpu_limit", "%CPU LIM", _cpu_limit, "right", bar=True),
    Column("throttled", "THR%", _throttled, "right", priority=3),
    Column("wset", "WSET", _wset, "right"),
    Column("mem_limit", "LIMIT", _mem_limit, "right", priority=2),
    Column("mem_percent", "%MEM", _mem_percent, "right"),
    Column("memory", "MEM/LIMIT", _memory, bar=True),
    Column("tasks", "TASKS", _tasks, "right", priority=4),
    Column("io", "IO R/W /s", _io, "right", priority=5),
    Column("pressure", "PSI c/m/io", _pressure, "right", priority=5),
    Column("oom", "OOM", _oom, "right", priority=3),
)

# Which columns each table shows, in order. Memory is the working set (what the kernel cannot reclaim
# before it OOM-kills, as docker stats and kubectl top show it); usage, page cache included, is in the
# detail and the JSON.
INVENTORY = ("name", "runtime", "state", "id", "init", "pids", "namespaces", "cgroup")  # `containers`
USAGE = (  # `cgscope top`
    "name", "runtime", "state", "cpu", "cpus", "cpu_limit", "throttled", "wset", "mem_limit",
    "mem_percent", "tasks", "io", "pressure",
)  # fmt: skip
DASHBOARD = (  # the dashboard's containers view
    "name", "state", "cpu", "cpu_limit", "memory", "runtime", "pids", "cpus", "throttled", "pressure",
    "oom", "id", "namespaces", "cgroup",
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
