"""Which paths cgscope may change: the cgroup directories and interface files the writer touches.

Every path the writer touches must lie in a cgroup mount, hold no `..`, and pass no symlink below the
mountpoint (a symlink could lead a write anywhere); only the interface files cgscope knows are written.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cgscope.control import request
from cgscope.control.errors import InvalidRequest
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount

# The interface files cgscope writes (cgroup-v1/*.rst, cgroup-v2.rst); anything else is refused. Those of
# the limits come from their options (request.LIMIT_OPTIONS); these are for placing and freezing.
WRITABLE = request.written_files() | {
    "cgroup.procs",
    "cgroup.subtree_control",
    "cgroup.freeze",
    "freezer.state",
    "cpuset.cpus",  # a new v1 cpuset is empty: it gets its parent's CPUs and memory nodes
    "cpuset.mems",
}
# A root cgroup's limits are the whole machine's: there cgscope only moves processes and, on cgroup v2,
# enables controllers for the children.
ROOT_WRITABLE = frozenset({"cgroup.procs", "cgroup.subtree_control"})


def mount_of(host: HostRoot, path: Path) -> CgroupMount:
    """The cgroup mount holding `path`; refuses a path outside every mount, with `..` or `.`, or that
    passes a symlink below the mountpoint. `path` itself need not exist (a cgroup about to be made)."""
    text = str(path)
    if not path.is_absolute() or os.path.normpath(text) != text or ".." in text.split("/"):
        raise InvalidRequest(f"{text}: not a plain absolute path (no '..', '.' or '//')")
    for mount in sorted(host.mounts, key=lambda m: len(m.mountpoint.parts), reverse=True):
        if path != mount.mountpoint and mount.mountpoint not in path.parents:
            continue
        here = mount.mountpoint
        for part in path.relative_to(mount.mountpoint).parts:
            here = here / part
            try:
                mode = os.lstat(here).st_mode
            except FileNotFoundError:
                break  # the rest is about to be made
            if stat.S_ISLNK(mode):
                raise InvalidRequest(
                    f"{host.shown(here)} is a symlink: cgscope writes only inside cgroup mounts"
                )
        return mount
    mounts = ", ".join(host.shown(m.mountpoint) for m in host.mounts)
    raise InvalidRequest(f"{host.shown(path)} is outside the cgroup mounts ({mounts})")


def check_file(host: HostRoot, path: Path) -> CgroupMount:
    """A file cgscope may write: a known interface file in a cgroup directory (see WRITABLE)."""
    mount = mount_of(host, path)
    if path.name not in WRITABLE:
        raise InvalidRequest(f"{host.shown(path)}: cgscope does not write {path.name}")
    if path.parent == mount.mountpoint and path.name not in ROOT_WRITABLE:
        raise InvalidRequest(f"{host.shown(path)}: cgscope never changes the root cgroup's limits")
    return mount


def check_cgroup_dir(host: HostRoot, path: Path) -> CgroupMount:
    """A cgroup directory cgscope may make or remove: below a mountpoint, never the mountpoint itself."""
    mount = mount_of(host, path)
    if path == mount.mountpoint:
        raise InvalidRequest(f"{host.shown(path)} is a hierarchy's root: cgscope never makes or removes it")
    return mount
