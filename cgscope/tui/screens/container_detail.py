"""One container (or the host): its processes numbered as inside and on the host, its namespaces and
which of them it shares with the host, its cgroup in each hierarchy. Each is a pane of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Label, TabbedContent, TabPane

from cgscope.fs.hostroot import HostRoot
from cgscope.fs.procfs import NS_TYPES
from cgscope.model.containers import Container
from cgscope.model.process import Process
from cgscope.render import views
from cgscope.tui.sampler import Frame, Need
from cgscope.tui.screens.base import DataScreen
from cgscope.tui.screens.containers import HOST_KEY
from cgscope.tui.widgets.table import Cell, Column, SortableTable

MEMBER_COLUMNS: tuple[Column[Process], ...] = (
    Column("nspid", "PID INSIDE", lambda p: Cell.of(p.nspid), "right"),
    Column("pid", "HOST PID", lambda p: Cell.of(p.pid), "right"),
    Column("ppid", "PPID", lambda p: Cell.of(p.ppid), "right"),
    Column("user", "USER", lambda p: Cell.of(p.user)),
    Column("state", "S", lambda p: Cell.of(p.state)),
    Column("command", "COMMAND", lambda p: Cell.of(p.command)),
)


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    type: str
    inode: int | None
    host_inode: int | None

    @property
    def sharing(self) -> str:
        if self.inode is None or self.host_inode is None:
            return "unknown"  # either link is unreadable: cgscope cannot tell
        return "shared with the host" if self.inode == self.host_inode else "own"


NAMESPACE_COLUMNS: tuple[Column[NamespaceRow], ...] = (
    Column("type", "TYPE", lambda r: Cell.of(r.type)),
    Column("inode", "INODE", lambda r: Cell.of(r.inode), "right"),
    Column("host", "HOST'S", lambda r: Cell.of(r.host_inode), "right"),
    Column("sharing", "ISOLATION", lambda r: Cell.of(r.sharing)),
)


@dataclass(frozen=True, slots=True)
class CgroupRow:
    hierarchy: str
    version: int
    path: str


CGROUP_COLUMNS: tuple[Column[CgroupRow], ...] = (
    Column("hierarchy", "HIERARCHY", lambda r: Cell.of(r.hierarchy)),
    Column("version", "V", lambda r: Cell.of(r.version), "right"),
    Column("path", "CGROUP", lambda r: Cell.of(r.path)),
)


def summary(c: Container | None, pids: int) -> str:
    if c is None:
        return f"{views.HOST} · {pids} processes outside containers"
    parts = [c.name, c.runtime, views.short_id(c.id), f"init {c.init_pid}", f"{pids} processes"]
    if c.pod is not None:
        parts.append(f"pod {c.pod.uid} ({c.pod.qos})")
    return " · ".join(parts)


def cgroup_rows(host: HostRoot, c: Container | None) -> list[tuple[str, CgroupRow]]:
    rows = []
    for m in host.mounts:
        path = (m.root or "/") if c is None else c.cgroup.get(m.key)
        if path is not None:
            rows.append((m.key, CgroupRow(m.key, m.version, path)))
    return rows


def namespace_rows(
    namespaces: Mapping[str, int | None], host: Mapping[str, int | None]
) -> list[tuple[str, NamespaceRow]]:
    return [(t, NamespaceRow(t, namespaces.get(t), host.get(t))) for t in NS_TYPES]


class ContainerDetailScreen(DataScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("backspace", "app.pop_screen", "Back", show=False),
        Binding("p", "pane('processes')", "Processes", show=False),
        Binding("n", "pane('namespaces')", "Namespaces", show=False),
        Binding("g", "pane('cgroups')", "Cgroups", show=False),
    ]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key  # a container id, or HOST_KEY

    def needs(self) -> frozenset[Need]:
        # The host's processes are not read in full for the containers list; a container's are.
        return frozenset({Need.PROCESSES}) if self.key == HOST_KEY else frozenset()

    def compose_body(self) -> ComposeResult:
        yield Label("reading…", id="summary", markup=False)
        with TabbedContent(id="panes"):
            with TabPane("Processes", id="processes"):
                yield SortableTable(MEMBER_COLUMNS, sort="nspid", id="members")
            with TabPane("Namespaces", id="namespaces"):
                yield SortableTable(NAMESPACE_COLUMNS, id="namespaces-table")
            with TabPane("Cgroups", id="cgroups"):
                yield SortableTable(CGROUP_COLUMNS, id="cgroups-table")

    def action_pane(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane

    def draw(self, frame: Frame) -> None:
        inv = frame.inventory
        container = next((c for c in inv.containers if c.id == self.key), None)
        if container is None and self.key != HOST_KEY:
            self.query_one("#summary", Label).update(f"{self.key}: gone (no process of it is left)")
            self.set_class(True, "-gone")
            return
        if container is not None:
            pids, namespaces, procs = container.pids, container.namespaces, inv.processes
        else:
            pids, namespaces, procs = inv.host_pids, inv.host_namespaces, frame.processes or {}
        members = [(str(pid), procs[pid]) for pid in pids if pid in procs]
        self.query_one("#summary", Label).update(summary(container, len(pids)))
        self.query_one("#members", SortableTable).show(members)
        self.query_one("#namespaces-table", SortableTable).show(
            namespace_rows(namespaces, inv.host_namespaces)
        )
        self.query_one("#cgroups-table", SortableTable).show(cgroup_rows(self.dashboard.host, container))
