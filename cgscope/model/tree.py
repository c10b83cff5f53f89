"""The cgroup tree of each hierarchy, with the processes in each cgroup counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import cgroupfs
from cgscope.fs.mounts import CgroupMount


@dataclass
class CgroupNode:
    path: str
    procs: int | None  # processes directly in this cgroup; None when cgroup.procs is unreadable
    children: list[CgroupNode] = field(default_factory=list)
    # A threaded cgroup's threads (v2; its processes count in its threaded domain); None for any other
    threads: int | None = None
    truncated: bool = False  # it has cgroups below fs/cgroupfs.MAX_DEPTH, not read (nor counted)

    @property
    def threaded(self) -> bool:
        return self.threads is not None

    @property
    def total_procs(self) -> int:
        return (self.procs or 0) + sum(c.total_procs for c in self.children)


def _node(path: str, members: cgroupfs.Members | None) -> CgroupNode:
    if members is None:
        return CgroupNode(path, None)
    threads = None if members.threads is None else len(members.threads)
    return CgroupNode(path, len(members.procs), threads=threads)


def read_tree(mount: CgroupMount) -> CgroupNode:
    """The hierarchy below `mount`'s root, as deep as fs/cgroupfs.walk goes; cgroups removed meanwhile are
    left out."""
    nodes: dict[str, CgroupNode] = {}
    root: CgroupNode | None = None
    cut: list[Path] = []
    for directory in cgroupfs.walk(mount.mountpoint, cut):
        path = mount.cgroup_path(directory)
        try:
            members: cgroupfs.Members | None = cgroupfs.read_members(directory)
        except ProcessGone:
            continue
        except AccessDenied:
            members = None
        node = nodes[path] = _node(path, members)
        parent = nodes.get(path.rsplit("/", 1)[0] or "/")
        if root is None:
            root = node
        elif parent is not None:
            parent.children.append(node)
    for directory in cut:
        shallow = nodes.get(mount.cgroup_path(directory))
        if shallow is not None:
            shallow.truncated = True
    return root if root is not None else CgroupNode(mount.root or "/", None)
