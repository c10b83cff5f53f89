"""The namespace tables: every namespace as lsns lists it (`cgscope ns`, the dashboard's namespaces view),
and one container's eight types, own or shared with the host (`cgscope inspect`, the container detail)."""

from __future__ import annotations

from dataclasses import dataclass

from cgscope.model.containers import Container
from cgscope.model.isolation import NamespaceState
from cgscope.model.namespaces import Namespace
from cgscope.render.columns import Cell, Column
from cgscope.render.columns.containers import HOST


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    namespace: Namespace
    container: Container | None = None  # the container of the namespace's lowest pid


COLUMNS: tuple[Column[NamespaceRow], ...] = (
    Column("ns", "NS", lambda r: Cell.of(r.namespace.inode), "right", priority=0),
    Column("type", "TYPE", lambda r: Cell.of(r.namespace.type), priority=0),
    Column("nprocs", "NPROCS", lambda r: Cell.of(r.namespace.nprocs), "right"),
    Column("pid", "PID", lambda r: Cell.of(r.namespace.pid), "right"),
    Column("user", "USER", lambda r: Cell.of(r.namespace.user)),
    Column("container", "CONTAINER", lambda r: Cell.of(r.container.name if r.container else HOST)),
    Column("command", "COMMAND", lambda r: Cell.of(r.namespace.command), wrap=True),
)
LSNS = ("ns", "type", "nprocs", "pid", "user", "command")  # `cgscope ns`
DASHBOARD = ("ns", "type", "nprocs", "pid", "user", "container", "command")

SHARING = {True: "shared with host", False: "own", None: "unknown"}

ISOLATION: tuple[Column[NamespaceState], ...] = (
    Column("type", "TYPE", lambda n: Cell.of(n.type), priority=0),
    Column("sharing", "ISOLATION", lambda n: Cell.of(SHARING[n.shared])),
    Column("inode", "INODE", lambda n: Cell.of(n.inode), "right"),
    Column("host", "HOST", lambda n: Cell.of(n.host), "right"),
)
