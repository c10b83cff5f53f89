"""What the inventory commands (containers, ps, ns, tree) print for scripts, as JSON-ready dicts, and the
cgroup tree as text; their tables are built from render/columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.model.borrowed import MEASURED, MEASURED_ORDER, Figure
from cgscope.model.containers import Container, Inventory
from cgscope.model.namespaces import Namespace
from cgscope.model.process import Process
from cgscope.model.runtimes import Pod
from cgscope.model.state import ContainerState
from cgscope.model.tree import CgroupNode
from cgscope.render.table import visible


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


def lifetime(ref: Mapping[str, Any]) -> str:
    """The key of one container's life in history, from its reference (container_ref). A bare
    container's id is its pid namespace's inode, which the kernel gives to the next namespace made once
    this one is freed (ida_alloc takes the lowest free number): the next bare container often has the
    same id, never the same init."""
    return f"{ref['id']}@{ref['init_pid']}" if ref["runtime"] == "bare" else str(ref["id"])


def outside(p: Process, c: Container | None) -> bool:
    """Whether a container member is outside the container's pid namespace (the `unshare` launcher that
    waits for its init): the container knows no pid of it."""
    own, its = p.namespaces.get("pid"), c.namespaces.get("pid") if c is not None else None
    return own is not None and its is not None and own != its


def inside_pid(p: Process, c: Container | None) -> int | None:
    """The pid the container knows the process by (NSpid's last field); None outside its pid namespace,
    or unknown."""
    return None if outside(p, c) else p.nspid


def container_json(
    c: Container,
    inv: Inventory,
    state: ContainerState | None = None,
    borrowed: frozenset[Figure] = frozenset(),
) -> dict[str, Any]:
    """`containers --json`: the container reference and all cgscope knows of the container; `borrowed`:
    the figures taken from its processes, their cgroups holding others too (model/borrowed.py)."""
    procs = inv.processes
    return {
        **container_ref(c),
        "state": state_json(state),
        "pids": list(c.pids),
        "nspids": {str(pid): inside_pid(procs[pid], c) for pid in c.pids},
        "cgroup": dict(c.cgroup),
        "namespaces": dict(c.namespaces),
        "shared_with_host": list(c.shared_with_host),
        "kubernetes": pod_json(c.pod) if c.pod else None,
        "source": "processes" if borrowed >= MEASURED else "cgroup",
        "sources": {f: "processes" if f in borrowed else "cgroup" for f in MEASURED_ORDER},
    }


def pod_json(pod: Pod) -> dict[str, Any]:
    """A Kubernetes container's pod: uid and QoS class from its cgroup, namespace and name from its CRI
    runtime's bundle (null where unreadable)."""
    return {"pod_uid": pod.uid, "qos": pod.qos, "namespace": pod.namespace, "pod": pod.name}


def state_json(state: ContainerState | None) -> dict[str, Any] | None:
    """running, freezing, frozen or paused, and what the runtime's own record says (null: none read)."""
    if state is None:
        return None
    return {"activity": state.activity, "runtime_paused": state.runtime_paused}


def process_json(p: Process, inv: Inventory) -> dict[str, Any]:
    c = inv.container_of.get(p.pid)
    return {
        "pid": p.pid,
        "nspid": inside_pid(p, c),
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


def namespace_json(n: Namespace) -> dict[str, Any]:
    return {
        "ns": n.inode,
        "type": n.type,
        "nprocs": n.nprocs,
        "pid": n.pid,
        "user": n.user,
        "command": n.command,
    }


def tree_json(node: CgroupNode) -> dict[str, Any]:
    return {
        "path": node.path,
        "procs": node.procs,
        "total_procs": node.total_procs,
        "threaded": node.threaded,
        "threads": node.threads,
        "truncated": node.truncated,
        "children": [tree_json(c) for c in node.children],
    }


def tree_lines(node: CgroupNode, containers: Mapping[str, str] | None = None) -> list[str]:
    """An indented tree ("├─", "└─" as lsns and systemd-cgls draw it) with direct/total process counts,
    and the name of the container whose cgroup a path is (`containers`: path -> name); cgroup and
    container names made visible (render/table.visible)."""
    names = containers or {}

    def line(n: CgroupNode, label: str) -> str:
        owner = names.get(n.path)
        return f"{visible(label)}  {tree_counts(n)}" + (f"  {visible(owner)}" if owner is not None else "")

    lines = [line(node, node.path)]

    def walk(n: CgroupNode, prefix: str) -> None:
        for i, child in enumerate(n.children):
            last = i == len(n.children) - 1
            lines.append(prefix + ("└─" if last else "├─") + line(child, child.path.rsplit("/", 1)[-1]))
            walk(child, prefix + ("  " if last else "│ "))

    walk(node, "")
    return lines


def container_cgroups(inv: Inventory, hierarchy: str) -> dict[str, str]:
    """The cgroup path of each container in one hierarchy, to its name (the first, should two share)."""
    out: dict[str, str] = {}
    for c in inv.containers:
        if hierarchy in c.cgroup:
            out.setdefault(c.cgroup[hierarchy], c.name)
    return out


def tree_counts(node: CgroupNode) -> str:
    """ "direct/total" processes; a threaded cgroup's threads (its processes count in its domain)."""
    if node.threads is not None:
        return f"threaded, {node.threads} thread{'' if node.threads == 1 else 's'}"
    direct = "?" if node.procs is None else str(node.procs)
    counts = f"{direct}/{node.total_procs}" if node.children else direct
    return f"{counts}, deeper cgroups not shown" if node.truncated else counts
