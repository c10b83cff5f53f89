"""Every process with its container, host pid beside the pid its container knows it by, and its CPU %,
memory and threads as top shows them; kernel threads hidden unless asked for (`K`), a tree (`t`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.reactive import reactive

from cgscope.render.columns import Column, pick
from cgscope.render.columns.containers import HOST
from cgscope.render.columns.processes import COLUMNS, DASHBOARD, ProcessRow, tree
from cgscope.sampling import Frame, Need
from cgscope.tui.actions import Selection
from cgscope.tui.screens.base import (
    FILTER_BINDING,
    PROCESS_ACTIONS,
    ROW_BINDINGS,
    TableScreen,
)


class ProcessesScreen(TableScreen[ProcessRow]):
    VIEW = "processes"
    NEEDS = frozenset({Need.PROCESSES})
    SORT = "pid"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail", tooltip="the detail of the selected process's container"),
        *ROW_BINDINGS,
        Binding("t", "toggle_tree", "Tree", tooltip="processes under their parents, or sorted"),
        Binding("K", "toggle_kernel", "Kernel threads", show=False, tooltip="show or hide kernel threads"),
        FILTER_BINDING,
    ]

    as_tree: reactive[bool] = reactive(False, init=False)
    kernel_threads: reactive[bool] = reactive(False, init=False)

    def columns(self) -> list[Column[ProcessRow]]:
        return pick(COLUMNS, DASHBOARD)

    def rows(self, frame: Frame) -> Iterable[tuple[str, ProcessRow]]:
        assert frame.processes is not None
        usage = frame.process_usage or {}
        container_of = frame.inventory.container_of
        shown = [p for p in frame.processes.values() if self.kernel_threads or not p.kernel_thread]
        listed = tree(shown) if self.as_tree else [(p, "") for p in shown]
        self.table.order_given = self.as_tree
        return [
            (str(p.pid), ProcessRow(p, container_of.get(p.pid), usage.get(p.pid), branch))
            for p, branch in listed
        ]

    def caption(self, frame: Frame) -> str:
        assert frame.processes is not None
        procs = frame.processes
        inside = sum(1 for pid in procs if pid in frame.inventory.container_of)
        kernel = sum(1 for p in procs.values() if p.kernel_thread)
        hidden = "" if self.kernel_threads else f" · {kernel} kernel threads hidden: K shows them"
        return f"{len(procs)} processes · {inside} in containers{hidden}"

    def watch_as_tree(self) -> None:
        self._redraw()

    def watch_kernel_threads(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        if self.drawn is not None:
            self.draw(self.drawn)

    def action_toggle_tree(self) -> None:
        self.as_tree = not self.as_tree

    def action_toggle_kernel(self) -> None:
        self.kernel_threads = not self.kernel_threads

    def selection(self, *, process: bool = False) -> Selection | None:
        row = self.table.item(self.table.selected_key or "")
        return Selection.of_process(row.process) if row is not None else None

    def row_actions(self) -> frozenset[str]:
        row = self.table.item(self.table.selected_key or "")
        if row is None or row.process.kernel_thread:
            return frozenset()
        return PROCESS_ACTIONS | ({"freeze"} if row.container is not None else set())

    def open_row(self, key: str) -> None:
        row = self.table.item(key)
        if row is not None:
            from cgscope.tui.screens.container_detail import ContainerDetailScreen

            target = row.container.id if row.container else HOST
            self.app.push_screen(ContainerDetailScreen(self.session, target))
