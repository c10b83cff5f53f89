"""Which of a container's figures its own cgroups tell, decided per hierarchy.

Each figure is read from the cgroup of one hierarchy: CPU usage from cpuacct (or cgroup2's cpu.stat,
see model/cgdirs.locate), memory from memory, tasks from pids, IO from blkio (v2: io), pressure from
cgroup2. On cgroup v1 each controller is a hierarchy of its own, and a process joins each on its own: a
bare `unshare` container put in a memory cgroup of its own is still in the root blkio cgroup unless it
was put in a blkio one too — whose counters are the whole host's. A figure whose cgroup is the
hierarchy's root, or (for a bare container) holds processes that are not the container's, is
"borrowed": model/member_usage.py takes it from the container's processes, or leaves it unknown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from cgscope.fs import cgroupfs
from cgscope.fs.hostroot import HostRoot
from cgscope.model.cgdirs import CgroupDirs
from cgscope.model.containers import Container

Source = Literal["cgroup", "processes"]  # where a figure comes from
Figure = Literal["cpu", "memory", "tasks", "io", "pressure"]
MEASURED_ORDER: tuple[Figure, ...] = ("cpu", "memory", "tasks", "io")  # what processes tell too
MEASURED = frozenset(MEASURED_ORDER)


def borrowed(host: HostRoot, c: Container, dirs: CgroupDirs, shared: bool) -> frozenset[Figure]:
    """The figures of `c` whose cgroup is not its own. `shared`: its cgroup in the primary hierarchy is
    not (model/containers.shares_cgroup); a figure whose hierarchy is not mounted, or whose cgroup is
    unknown, is then borrowed too, as its cgroup tells nothing of the container."""
    unified = host.unified
    where: dict[Figure, tuple[Path, Path] | None] = {
        "cpu": (dirs.usage.directory, dirs.usage.mount.mountpoint) if dirs.usage else None,
        "memory": (dirs.memory.directory, dirs.memory.mount.mountpoint) if dirs.memory else None,
        "tasks": (dirs.pids.directory, dirs.pids.mount.mountpoint) if dirs.pids else None,
        "io": (dirs.io.directory, dirs.io.mount.mountpoint) if dirs.io else None,
        "pressure": (dirs.unified, unified.mountpoint) if dirs.unified and unified else None,
    }
    known: dict[Path, bool] = {}  # on cgroup v2 every figure is one directory's
    out = []
    for figure, at in where.items():
        if at is None:
            if shared:
                out.append(figure)
            continue
        directory, root = at
        if directory not in known:
            known[directory] = _holds_others(directory, root, c)
        if known[directory]:
            out.append(figure)
    return frozenset(out)


def _holds_others(directory: Path, root: Path, c: Container) -> bool:
    """The root cgroup holds every process; a runtime's cgroup is its container's alone, a bare
    container's may be anyone's (the login session it was started from)."""
    if directory == root:
        return True
    return c.runtime == "bare" and not cgroupfs.subtree_procs(directory) <= set(c.pids)
