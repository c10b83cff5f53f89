"""The first screen: every container, and the host as a row of its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from cgscope.model.containers import Container, Inventory
from cgscope.render import views
from cgscope.tui.sampler import Frame
from cgscope.tui.screens.base import TableScreen
from cgscope.tui.widgets.table import Cell, Column

HOST_KEY = views.HOST  # the host's row key; container ids never hold parentheses


@dataclass(frozen=True)
class ContainerRow:
    """One row: a container, or the host (container None)."""

    container: Container | None
    inventory: Inventory
    primary: str | None  # the hierarchy whose path names the cgroup shown

    @property
    def pids(self) -> tuple[int, ...]:
        return self.container.pids if self.container else self.inventory.host_pids


def rows_of(frame: Frame, primary: str | None) -> list[tuple[str, ContainerRow]]:
    inv = frame.inventory
    rows = [(c.id, ContainerRow(c, inv, primary)) for c in inv.containers]
    return [*rows, (HOST_KEY, ContainerRow(None, inv, primary))]


CONTAINER_COLUMNS: tuple[Column[ContainerRow], ...] = (
    Column("name", "NAME", lambda r: Cell.of(r.container.name if r.container else views.HOST)),
    Column("runtime", "RUNTIME", lambda r: Cell.of(r.container.runtime if r.container else "-")),
    Column("id", "ID", lambda r: Cell.of(views.short_id(r.container.id) if r.container else "-")),
    Column("pids", "PIDS", lambda r: Cell.of(len(r.pids)), "right"),
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
