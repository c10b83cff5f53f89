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
    located = {"cpu": dirs.usage, "memory": dirs.memory, "tasks": dirs.pids, "io": dirs.io}
    where = {f: (at.directory, at.mount.mountpoint) for f, at in located.items() if at is not None}
    if dirs.unified is not None and host.unified is not None:
        where["pressure"] = (dirs.unified, host.unified.mountpoint)
    # Whether each directory holds others; the primary hierarchy's is `shared` (on cgroup v2 every
    # figure is that one directory's).
    known: dict[Path, bool] = {}
    primary = host.primary
    path = c.cgroup.get(primary.key) if primary is not None else None
    directory = primary.directory(path) if primary is not None and path is not None else None
    if directory is not None:
        known[directory] = shared
    out: list[Figure] = []
    for figure in (*MEASURED_ORDER, "pressure"):
        if figure not in where:
            if shared:
                out.append(figure)
            continue
        place, root = where[figure]
        if place not in known:
            known[place] = _holds_others(place, root, c)
        if known[place]:
            out.append(figure)
    return frozenset(out)


def _holds_others(directory: Path, root: Path, c: Container) -> bool:
    """The root cgroup holds every process; a runtime's cgroup is its container's alone, a bare
    container's may be anyone's (the login session it was started from)."""
    if directory == root:
        return True
    return c.runtime == "bare" and not cgroupfs.subtree_procs(directory) <= set(c.pids)
