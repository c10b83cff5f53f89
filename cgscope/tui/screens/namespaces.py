"""Every namespace, as lsns lists them, with the container of its lowest pid."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cgscope.model.containers import Container
from cgscope.model.namespaces import Namespace
from cgscope.render import views
from cgscope.tui.sampler import Frame, Need
from cgscope.tui.screens.base import TableScreen
from cgscope.tui.widgets.table import Cell, Column


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    namespace: Namespace
    container: Container | None  # the container of the namespace's lowest pid


NAMESPACE_COLUMNS: tuple[Column[NamespaceRow], ...] = (
    Column("ns", "NS", lambda r: Cell.of(r.namespace.inode), "right"),
    Column("type", "TYPE", lambda r: Cell.of(r.namespace.type)),
    Column("nprocs", "NPROCS", lambda r: Cell.of(r.namespace.nprocs), "right"),
    Column("pid", "PID", lambda r: Cell.of(r.namespace.pid), "right"),
    Column("user", "USER", lambda r: Cell.of(r.namespace.user)),
    Column("container", "CONTAINER", lambda r: Cell.of(r.container.name if r.container else views.HOST)),
    Column("command", "COMMAND", lambda r: Cell.of(r.namespace.command)),
)


class NamespacesScreen(TableScreen[NamespaceRow]):
    VIEW = "namespaces"
    NEEDS = frozenset({Need.PROCESSES})
    SORT = "ns"

    def columns(self) -> list[Column[NamespaceRow]]:
        return list(NAMESPACE_COLUMNS)

    def rows(self, frame: Frame) -> Iterable[tuple[str, NamespaceRow]]:
        assert frame.namespaces is not None
        container_of = frame.inventory.container_of
        return [(f"{n.type}:{n.inode}", NamespaceRow(n, container_of.get(n.pid))) for n in frame.namespaces]

    def caption(self, frame: Frame) -> str:
        assert frame.namespaces is not None
        host = frame.inventory.host_namespaces
        own = sum(1 for n in frame.namespaces if host.get(n.type) not in (None, n.inode))
        return f"{len(frame.namespaces)} namespaces · {own} not the host's · as lsns counts them"
