"""Namespaces as lsns(8) lists them: one row per namespace, counted over processes."""

from __future__ import annotations

from dataclasses import dataclass

from cgscope.fs.procfs import NS_TYPES
from cgscope.model.collect import Snapshot


@dataclass(frozen=True, slots=True)
class Namespace:
    inode: int
    type: str
    nprocs: int
    pid: int  # the lowest pid in it, as lsns shows
    user: str
    command: str


def list_namespaces(snapshot: Snapshot) -> list[Namespace]:
    """Every namespace some readable process is in; processes whose link is unreadable are not counted."""
    counts: dict[tuple[str, int], list[int]] = {}
    for p in snapshot.processes.values():
        for ns in NS_TYPES:
            inode = p.namespaces.get(ns)
            if inode is not None:
                counts.setdefault((ns, inode), []).append(p.pid)
    rows = []
    for (ns, inode), pids in counts.items():
        first = snapshot.processes[min(pids)]
        rows.append(Namespace(inode, ns, len(pids), first.pid, first.user, first.command))
    rows.sort(key=lambda n: (n.inode, n.type))
    return rows
