"""The first screen: every container, and the host as a row of its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from cgscope.model.containers import Container, Inventory
from cgscope.model.derive import Usage
from cgscope.render import views
from cgscope.render.top import SHARED_MARK, pct, size
from cgscope.tui.actions import Selection
from cgscope.tui.sampler import Frame
from cgscope.tui.screens.base import TableScreen
from cgscope.tui.widgets.table import UNKNOWN, Cell, Column, bar_cell

HOST_KEY = views.HOST  # the host's row key; container ids never hold parentheses


@dataclass(frozen=True)
class ContainerRow:
    """One row: a container, or the host (container None)."""

    container: Container | None
    inventory: Inventory
    primary: str | None  # the hierarchy whose path names the cgroup shown
    usage: Usage | None  # None: its counters are unreadable
    shared: bool = False  # its cgroup holds other processes too: its counters are not its alone

    @property
    def name(self) -> str:
        """The container's name, marked as `cgscope top` marks a shared cgroup; the host's."""
        if self.container is None:
            return views.HOST
        return self.container.name + (SHARED_MARK if self.shared else "")

    @property
    def pids(self) -> tuple[int, ...]:
        return self.container.pids if self.container else self.inventory.host_pids


def container_selection(c: Container) -> Selection:
    return Selection("container", c.id, c.init_pid, f"container {c.name}")


def rows_of(frame: Frame, primary: str | None) -> list[tuple[str, ContainerRow]]:
    inv = frame.inventory
    rows = []
    for c in inv.containers:
        row = frame.container_usage.get(c.id)
        usage, shared = (row.usage, row.watched.shared) if row is not None else (None, False)
        rows.append((c.id, ContainerRow(c, inv, primary, usage, shared)))
    return [*rows, (HOST_KEY, ContainerRow(None, inv, primary, frame.usage))]


def number(value: float | None, text: str | None) -> Cell:
    return Cell(UNKNOWN, None) if value is None or text is None else Cell(text, value)


MEASURING = Cell("…", None)  # a rate before the second refresh: one sample tells no rate


def measuring(r: ContainerRow) -> bool:
    return r.usage is not None and r.usage.interval is None and r.usage.cpu is not None


def cpu_percent(r: ContainerRow) -> Cell:
    if measuring(r):
        return MEASURING
    c = r.usage.cpu if r.usage else None
    return number(c.host_percent if c else None, pct(c.host_percent) if c else None)


def cpu_of_limit(r: ContainerRow) -> Cell:
    if measuring(r):
        return MEASURING
    c = r.usage.cpu if r.usage else None
    share = c.limit_percent if c else None
    return bar_cell(share, pct(share))


def allowance(r: ContainerRow) -> Cell:
    c = r.usage.cpu if r.usage else None
    return number(c.limit_cpus if c else None, f"{c.limit_cpus:g}" if c else None)


def memory(r: ContainerRow) -> Cell:
    """Used / limit ("-": none), with a bar of the share."""
    m = r.usage.memory if r.usage else None
    if m is None:
        return Cell(UNKNOWN, None)
    text = f"{size(m.usage_bytes)}/{size(m.limit_bytes) if m.limit_bytes else '-'}"
    return bar_cell(m.limit_percent, text, sort=m.usage_bytes)


def throttled(r: ContainerRow) -> Cell:
    c = r.usage.cpu if r.usage else None
    if c is not None and c.quota_cpus is None:
        return Cell("-", None)  # no quota: never throttled
    if measuring(r):
        return MEASURING
    value = c.throttled_percent if c else None
    return number(value, pct(value))


def pressure(r: ContainerRow) -> Cell:
    """PSI "some" avg10 of cpu / memory / io, as top's PSI column."""
    psi = r.usage.pressure if r.usage else {}
    if not psi:
        return Cell("-", None)
    kinds = ("cpu", "memory", "io")
    text = "/".join(f"{psi[k].some.avg10:.1f}" if k in psi else "-" for k in kinds)
    return Cell(text, max(p.some.avg10 for p in psi.values()))


def oom_kills(r: ContainerRow) -> Cell:
    m = r.usage.memory if r.usage else None
    return Cell.of(m.oom_kills if m else None)


CONTAINER_COLUMNS: tuple[Column[ContainerRow], ...] = (
    Column("name", "NAME", lambda r: Cell.of(r.name)),
    Column("runtime", "RUNTIME", lambda r: Cell.of(r.container.runtime if r.container else "-")),
    Column("pids", "PIDS", lambda r: Cell.of(len(r.pids)), "right"),
    Column("cpu", "CPU%", cpu_percent, "right"),
    Column("cpu_limit", "%CPU LIM", cpu_of_limit),
    Column("cpus", "CPUS", allowance, "right"),
    Column("memory", "MEM/LIMIT", memory),
    Column("throttled", "THR%", throttled, "right"),
    Column("pressure", "PSI c/m/io", pressure, "right"),
    Column("oom", "OOM", oom_kills, "right"),
    Column("id", "ID", lambda r: Cell.of(views.short_id(r.container.id) if r.container else "-")),
    Column(
        "namespaces",
        "OWN NAMESPACES",
        lambda r: Cell.of(views.own_namespaces(r.container) if r.container else "-"),
    ),
    Column(
        "cgroup",
        "CGROUP",
        lambda r: Cell.of(views.cgroup_of(r.container.cgroup, r.primary) if r.container else "/"),
    ),
)


class ContainersScreen(TableScreen[ContainerRow]):
    VIEW = "containers"
    SORT = "name"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open", "Detail", show=True)]

    def columns(self) -> list[Column[ContainerRow]]:
        return list(CONTAINER_COLUMNS)

    def rows(self, frame: Frame) -> Iterable[tuple[str, ContainerRow]]:
        primary = self.dashboard.host.primary
        return rows_of(frame, primary.key if primary else None)

    def caption(self, frame: Frame) -> str:
        inv = frame.inventory
        text = f"{len(inv.containers)} containers · {len(inv.host_pids)} processes on the host"
        if inv.uninspected:
            text += f" · {len(inv.uninspected)} not inspected (permission denied): counted as the host's"
        return text

    def selection(self, *, process: bool = False) -> Selection | None:
        row = self.table.item(self.table.selected_key or "")
        if process or row is None or row.container is None:
            return None
        return container_selection(row.container)

    def action_open(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.open_detail(key)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.open_detail(event.row_key.value)

    def open_detail(self, key: str) -> None:
        from cgscope.tui.screens.container_detail import ContainerDetailScreen

        self.app.push_screen(ContainerDetailScreen(key))
