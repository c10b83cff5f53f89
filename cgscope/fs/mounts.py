"""Cgroup hierarchies among the mounts /proc/self/mountinfo lists (proc(5), "/proc/pid/mountinfo").

Never assume /sys/fs/cgroup: v1 controllers may be co-mounted ("cpu,cpuacct"), named hierarchies
("name=systemd") hold no controller, and cgroup2 may sit at /sys/fs/cgroup (pure v2) or
/sys/fs/cgroup/unified (hybrid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs.files import read_text
from cgscope.fs.mounttable import Mount

# Superblock options of a v1 cgroup mount that are not controller names (cgroup-v1/cgroups.rst).
_V1_FLAGS = frozenset({"rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods"})

UNIFIED = "unified"  # our name for the cgroup2 hierarchy; /proc/PID/cgroup shows it as "0::PATH"


@dataclass(frozen=True)
class CgroupMount:
    """One mounted cgroup hierarchy."""

    version: Literal[1, 2]
    controllers: tuple[str, ...]  # v1: ("cpu", "cpuacct") or ("name=systemd",); v2: enabled at its root
    mountpoint: Path  # where it is mounted, as seen from the host root
    root: str  # the cgroup mounted there, relative to the reader's cgroup-namespace root

    @property
    def key(self) -> str:
        """The hierarchy's name: the controller field of /proc/PID/cgroup for v1, "unified" for v2."""
        return UNIFIED if self.version == 2 else ",".join(self.controllers)

    def directory(self, cgroup_path: str) -> Path | None:
        """The directory of `cgroup_path` (as /proc/PID/cgroup gives it); None if this mount cannot reach it.

        Both the path and the mount's root are relative to the reader's cgroup namespace root; a path
        outside the mounted subtree (e.g. "/../sibling" for a process in another cgroup namespace) has
        no directory here.
        """
        root = self.root.rstrip("/")
        if cgroup_path != root and not cgroup_path.startswith(root + "/"):
            return None
        rest = cgroup_path[len(root) :].strip("/")
        if ".." in rest.split("/"):
            return None
        return self.mountpoint / rest if rest else self.mountpoint

    def cgroup_path(self, directory: Path) -> str:
        """Inverse of directory(): the cgroup path of a directory below the mountpoint (ValueError for one
        outside it). Worked on the paths' text, which a Path keeps normalised: a refresh asks this of
        every cgroup it walks, and Path.relative_to costs ten times as much."""
        text, top = str(directory), str(self.mountpoint)
        if text == top:
            return self.root or "/"
        inside = top if top.endswith("/") else f"{top}/"
        if not text.startswith(inside):
            raise ValueError(f"{text!r} is not below the mount point {top!r}")
        return f"{self.root.rstrip('/')}/{text[len(inside) :]}"


def cgroup_mounts(table: Sequence[Mount], root: Path) -> tuple[CgroupMount, ...]:
    """The cgroup hierarchies of a mount table, mount points re-rooted under `root`. A hierarchy may be
    mounted more than once (bind mounts, a container's view): the mount that shows the most of it is
    kept, then the first listed."""
    found: dict[str, CgroupMount] = {}
    for m in table:
        if m.fstype not in ("cgroup", "cgroup2"):
            continue
        where = root / m.mountpoint.lstrip("/")
        if m.fstype == "cgroup2":
            mount = CgroupMount(2, v2_controllers(where), where, m.root)
        else:
            mount = CgroupMount(1, v1_controllers(",".join(m.super_options)), where, m.root)
        old = found.get(mount.key)
        if old is None or len(mount.root) < len(old.root):
            found[mount.key] = mount
    return tuple(found.values())


def v2_controllers(mountpoint: Path) -> tuple[str, ...]:
    """The controllers available at a cgroup2 mount's root (cgroup.controllers); none where unreadable."""
    try:
        return tuple(read_text(mountpoint / "cgroup.controllers").split())
    except (ProcessGone, AccessDenied, OSError):
        return ()


def v1_controllers(superopts: str) -> tuple[str, ...]:
    """Controller (and name=) options of a v1 mount, in the kernel's order."""
    return tuple(
        o
        for o in superopts.split(",")
        if o and o not in _V1_FLAGS and ("=" not in o or o.startswith("name="))
    )
