"""The first screen: every container, and the host as a row of its own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType

from cgscope.render.columns import Column, pick
from cgscope.render.columns.containers import COLUMNS, DASHBOARD, HOST, ContainerRow
from cgscope.sampling import Frame
from cgscope.tui.actions import Selection
from cgscope.tui.screens.base import (
    CONTAINER_ACTIONS,
    FILTER_BINDING,
    ROW_BINDINGS,
    TableScreen,
)


def rows_of(frame: Frame, primary: str | None) -> list[tuple[str, ContainerRow]]:
    inv = frame.inventory
    rows = []
    for c in inv.containers:
        row = frame.container_usage.get(c.id)
        usage, shared = (row.usage, row.watched.shared) if row is not None else (None, False)
        shared = shared or (usage is not None and bool(usage.from_processes))
        rows.append((c.id, ContainerRow(c, inv, primary, usage, shared, frame.states.get(c.id))))
    return [*rows, (HOST, ContainerRow(None, inv, primary, frame.usage))]


class ContainersScreen(TableScreen[ContainerRow]):
    VIEW = "containers"
    SORT = "name"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail", tooltip="the selected container's usage, processes, namespaces"),
        *ROW_BINDINGS,
        FILTER_BINDING,
    ]

    def columns(self) -> list[Column[ContainerRow]]:
        return pick(COLUMNS, DASHBOARD)

    def rows(self, frame: Frame) -> Iterable[tuple[str, ContainerRow]]:
        primary = self.host.primary
        return rows_of(frame, primary.key if primary else None)

    def caption(self, frame: Frame) -> str:
        inv = frame.inventory
        text = f"{len(inv.containers)} containers · {len(inv.host_pids)} processes on the host"
        if inv.uninspected:
            text += f" · {len(inv.uninspected)} not inspected (permission denied)"
        return text

    def selection(self, *, process: bool = False) -> Selection | None:
        row = self.table.item(self.table.selected_key or "")
        if process or row is None or row.container is None:
            return None
        return Selection.of_container(row.container)

    def row_actions(self) -> frozenset[str]:
        return CONTAINER_ACTIONS if self.selection() is not None else frozenset()

    def open_row(self, key: str) -> None:
        from cgscope.tui.screens.container_detail import ContainerDetailScreen

        self.app.push_screen(ContainerDetailScreen(self.session, key))
