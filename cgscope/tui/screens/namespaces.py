"""Every namespace, as lsns lists them, with the container of its lowest pid."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import BindingType

from cgscope.render.columns import Column, pick
from cgscope.render.columns.namespaces import COLUMNS, DASHBOARD, NamespaceRow
from cgscope.sampling import Frame, Need
from cgscope.tui.screens.base import FILTER_BINDING, TableScreen


class NamespacesScreen(TableScreen[NamespaceRow]):
    VIEW = "namespaces"
    NEEDS = frozenset({Need.PROCESSES})
    SORT = "ns"
    BINDINGS: ClassVar[list[BindingType]] = [FILTER_BINDING]

    def columns(self) -> list[Column[NamespaceRow]]:
        return pick(COLUMNS, DASHBOARD)

    def rows(self, frame: Frame) -> Iterable[tuple[str, NamespaceRow]]:
        assert frame.namespaces is not None
        container_of = frame.inventory.container_of
        return [(f"{n.type}:{n.inode}", NamespaceRow(n, container_of.get(n.pid))) for n in frame.namespaces]

    def caption(self, frame: Frame) -> str:
        assert frame.namespaces is not None
        host = frame.inventory.host_namespaces
        own = sum(1 for n in frame.namespaces if host.get(n.type) not in (None, n.inode))
        return f"{len(frame.namespaces)} namespaces · {own} not the host's · as lsns counts them"
