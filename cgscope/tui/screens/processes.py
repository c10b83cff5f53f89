"""Every process with its container, host pid beside the pid its container knows it by."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.widgets import DataTable

from cgscope.model.containers import Container
from cgscope.model.process import Process
from cgscope.render.columns import Column, pick
from cgscope.render.columns.containers import HOST
from cgscope.render.columns.processes import COLUMNS, DASHBOARD, ProcessRow
from cgscope.tui.actions import Selection
from cgscope.tui.sampler import Frame, Need
from cgscope.tui.screens.base import TableScreen


def process_rows(
    processes: Mapping[int, Process], container_of: Mapping[int, Container]
) -> list[tuple[str, ProcessRow]]:
    return [(str(pid), ProcessRow(p, container_of.get(pid))) for pid, p in processes.items()]


class ProcessesScreen(TableScreen[ProcessRow]):
    VIEW = "processes"
    NEEDS = frozenset({Need.PROCESSES})
    SORT = "pid"

    def columns(self) -> list[Column[ProcessRow]]:
        return pick(COLUMNS, DASHBOARD)

    def rows(self, frame: Frame) -> Iterable[tuple[str, ProcessRow]]:
        assert frame.processes is not None
        return process_rows(frame.processes, frame.inventory.container_of)

    def caption(self, frame: Frame) -> str:
        assert frame.processes is not None
        inside = sum(1 for pid in frame.processes if pid in frame.inventory.container_of)
        return f"{len(frame.processes)} processes · {inside} in containers · Enter: its container"

    def selection(self, *, process: bool = False) -> Selection | None:
        row = self.table.item(self.table.selected_key or "")
        return Selection.of_process(row.process) if row is not None else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.table.item(event.row_key.value or "")
        if row is not None:
            from cgscope.tui.screens.container_detail import ContainerDetailScreen

            key = row.container.id if row.container else HOST
            self.app.push_screen(ContainerDetailScreen(self.session, key))
