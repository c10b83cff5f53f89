"""What each one-shot command shows, as a Table (for people) and as JSON-ready dicts (for scripts)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.fs.procfs import NS_TYPES
from cgscope.model.containers import Container, Inventory
from cgscope.model.namespaces import Namespace
from cgscope.model.process import Process
from cgscope.model.tree import CgroupNode
from cgscope.render.table import Column, Table

HOST = "(host)"


def host_json(host: HostRoot, identity: tuple[str, str], inv: Inventory) -> dict[str, Any]:
    return {
        "hostname": identity[0],
        "kernel": identity[1],
        "cgroup_mode": host.mode,
        "hierarchies": [hierarchy_json(host, m) for m in host.mounts],
        "namespaces": dict(inv.host_namespaces),
        "pids": list(inv.host_pids),
        "uninspected_pids": sorted(inv.uninspected),
    }


def hierarchy_json(host: HostRoot, mount: CgroupMount) -> dict[str, Any]:
    return {
        "name": mount.key,
        "version": mount.version,
        "mountpoint": host.shown(mount.mountpoint),
        "controllers": list(mount.controllers),
    }


def container_ref(c: Container) -> dict[str, Any]:
    """How every command's JSON names a container (docs/json.md, "The container reference")."""
    return {"id": c.id, "name": c.name, "runtime": c.runtime, "init_pid": c.init_pid}


def container_json(c: Container, inv: Inventory) -> dict[str, Any]:
    """`containers --json`: the container reference and all cgscope knows of the container."""
    procs = inv.processes
    return {
        **container_ref(c),
        "pids": list(c.pids),
        "nspids": {str(pid): procs[pid].nspid for pid in c.pids},
        "cgroup": dict(c.cgroup),
        "namespaces": dict(c.namespaces),
        "shared_with_host": list(c.shared_with_host),
        "kubernetes": {"pod_uid": c.pod.uid, "qos": c.pod.qos} if c.pod else None,
    }


CONTAINER_COLUMNS = (
    Column("NAME"),
    Column("RUNTIME"),
    Column("ID"),
    Column("INIT", "right"),
    Column("PIDS", "right"),
    Column("OWN NAMESPACES"),
    Column("CGROUP", wrap=True),
)


def containers_table(inv: Inventory, primary: str | None) -> Table:
    table = Table(list(CONTAINER_COLUMNS))
    for c in inv.containers:
        table.add(
            c.name,
            c.runtime,
            short_id(c.id),
            c.init_pid,
            len(c.pids),
            own_namespaces(c),
            cgroup_of(c.cgroup, primary),
        )
    table.add(HOST, "-", "-", 1 if 1 in inv.host_pids else "-", len(inv.host_pids), "-", "/")
    return table


def short_id(ident: str) -> str:
    """Runtimes' 64-hex ids shortened as docker ps does; other ids (names, "pid-<inode>") in full."""
    return ident[:12] if len(ident) == 64 else ident


def own_namespaces(c: Container) -> str:
    """The namespace types the container does not share with the host ("?" where unknown)."""
    own = [t for t in NS_TYPES if t not in c.shared_with_host]
    return ",".join(t if c.namespaces.get(t) is not None else f"{t}?" for t in own) or "none"


def cgroup_of(cgroups: Mapping[str, str], primary: str | None) -> str:
    if primary is not None and primary in cgroups:
        return cgroups[primary]
    return next(iter(cgroups.values()), "-")


def process_json(p: Process, inv: Inventory) -> dict[str, Any]:
    c = inv.container_of.get(p.pid)
    return {
        "pid": p.pid,
        "nspid": p.nspid,
        "ppid": p.ppid,
        "uid": p.uid if p.uid >= 0 else None,
        "user": p.user,
        "state": p.state,
        "command": p.command,
        "start_time": round(p.start_time, 2),
        "container": container_ref(c) if c else None,
        "cgroups": dict(p.cgroups),
        "namespaces": dict(p.namespaces),
    }


def ps_table(processes: Iterable[Process], inv: Inventory) -> Table:
    table = Table(
        [
            Column("PID", "right"),
            Column("NSPID", "right"),
            Column("PPID", "right"),
            Column("USER"),
            Column("S"),
            Column("START"),
            Column("CONTAINER"),
            Column("COMMAND", wrap=True),
        ]
    )
    today = time.strftime("%Y-%m-%d")
    for p in processes:
        c = inv.container_of.get(p.pid)
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.start_time))
        start = stamp[11:] if stamp.startswith(today) else stamp[:10]
        table.add(p.pid, p.nspid, p.ppid, p.user, p.state, start, c.name if c else HOST, p.command)
    return table


def namespace_json(n: Namespace) -> dict[str, Any]:
    return {
        "ns": n.inode,
        "type": n.type,
        "nprocs": n.nprocs,
        "pid": n.pid,
        "user": n.user,
        "command": n.command,
    }


def namespaces_table(rows: Iterable[Namespace]) -> Table:
    table = Table(
        [
            Column("NS", "right"),
            Column("TYPE"),
            Column("NPROCS", "right"),
            Column("PID", "right"),
            Column("USER"),
            Column("COMMAND", wrap=True),
        ]
    )
    for n in rows:
        table.add(n.inode, n.type, n.nprocs, n.pid, n.user, n.command)
    return table


def tree_json(node: CgroupNode) -> dict[str, Any]:
    return {
        "path": node.path,
        "procs": node.procs,
        "total_procs": node.total_procs,
        "children": [tree_json(c) for c in node.children],
    }


def tree_lines(node: CgroupNode) -> list[str]:
    """An indented tree ("├─", "└─" as lsns and systemd-cgls draw it) with direct/total process counts."""
    lines = [f"{node.path}  {tree_counts(node)}"]

    def walk(n: CgroupNode, prefix: str) -> None:
        for i, child in enumerate(n.children):
            last = i == len(n.children) - 1
            name = child.path.rsplit("/", 1)[-1]
            lines.append(f"{prefix}{'└─' if last else '├─'}{name}  {tree_counts(child)}")
            walk(child, prefix + ("  " if last else "│ "))

    walk(node, "")
    return lines


def tree_counts(node: CgroupNode) -> str:
    direct = "?" if node.procs is None else str(node.procs)
    return f"{direct}/{node.total_procs}" if node.children else direct
