"""What the inventory commands (containers, ps, ns, tree) print for scripts, as JSON-ready dicts, and the
cgroup tree as text; their tables are built from render/columns."""

from __future__ import annotations

from typing import Any

from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.model.containers import Container, Inventory
from cgscope.model.namespaces import Namespace
from cgscope.model.process import Process
from cgscope.model.runtimes import Pod
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
        "kubernetes": pod_json(c.pod) if c.pod else None,
    }


def pod_json(pod: Pod) -> dict[str, Any]:
    """A Kubernetes container's pod: uid and QoS class from its cgroup, namespace and name from its CRI
    runtime's bundle (null where unreadable)."""
    return {"pod_uid": pod.uid, "qos": pod.qos, "namespace": pod.namespace, "pod": pod.name}


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
        "children": [tree_json(c) for c in node.children],
    }


def tree_lines(node: CgroupNode) -> list[str]:
    """An indented tree ("├─", "└─" as lsns and systemd-cgls draw it) with direct/total process counts;
    cgroup names made visible (render/table.visible)."""
    lines = [f"{node.path}  {tree_counts(node)}"]

    def walk(n: CgroupNode, prefix: str) -> None:
        for i, child in enumerate(n.children):
            last = i == len(n.children) - 1
            name = child.path.rsplit("/", 1)[-1]
            lines.append(f"{prefix}{'└─' if last else '├─'}{name}  {tree_counts(child)}")
            walk(child, prefix + ("  " if last else "│ "))

    walk(node, "")
    return [visible(line) for line in lines]


def tree_counts(node: CgroupNode) -> str:
    """ "direct/total" processes; a threaded cgroup's threads (its processes count in its domain)."""
    if node.threads is not None:
        return f"threaded, {node.threads} thread{'' if node.threads == 1 else 's'}"
    direct = "?" if node.procs is None else str(node.procs)
    return f"{direct}/{node.total_procs}" if node.children else direct
