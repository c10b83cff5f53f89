"""The cgroups a command run inside a process's namespaces joins: that process's own, in every hierarchy
(v1 and v2), as `docker exec`, `runc exec` and `lxc-attach` put their command in the container's
cgroups, so that what it does counts against the container's limits.

The process that moves is nsenter's new child itself, before it enters any namespace (from inside a
user or cgroup namespace the host's cgroup.procs may no longer be writable: cgroup-v2.rst, "Delegation
Containment"); the command it forks inherits the cgroups. The files pass the writer's checks
(paths.check_file: in a cgroup mount, no symlink on the way, a file cgscope writes) and are opened before
the fork. Nothing is journaled: the write moves a process that did not exist before and leaves with it,
so there is no old value to record and nothing for undo to restore.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cgscope.control.errors import InvalidRequest
from cgscope.control.paths import check_file
from cgscope.control.placement import check_destination
from cgscope.fs.freezer import read_freezer
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.model.process import Process

STAY = "add --keep-cgroup to stay in cgscope's own cgroups"


def cgroups_to_join(host: HostRoot, target: Process, ours: Mapping[str, str]) -> tuple[Path, ...]:
    """The cgroup.procs file of `target`'s cgroup in each hierarchy where it is not in the same cgroup
    as cgscope (`ours`); refuses, before anything is written, cgroups that cannot take a process."""
    if not target.cgroups:
        raise InvalidRequest(f"cannot read /proc/{target.pid}/cgroup: {STAY}")
    files = []
    for mount in host.mounts:
        path = target.cgroups.get(mount.key)
        if path is None or ours.get(mount.key) == path:
            continue
        directory = mount.directory(path)
        if directory is None:
            raise InvalidRequest(
                f"process {target.pid}'s cgroup {mount.key}:{path} is outside what "
                f"{host.shown(mount.mountpoint)} shows: {STAY}"
            )
        check_destination(host, mount, directory)
        _refuse_frozen(mount, directory, target.pid)
        procs = directory / "cgroup.procs"
        check_file(host, procs)
        files.append(procs)
    return tuple(files)


def _refuse_frozen(mount: CgroupMount, directory: Path, pid: int) -> None:
    """A process joining a frozen cgroup stops at once, and the caller would wait for it for good.
    freezer.state and cgroup.events tell an ancestor's freeze too; root cgroups have neither file."""
    if mount.version == 1 and "freezer" not in mount.controllers:
        return
    if read_freezer(directory, mount.version) in ("frozen", "freezing"):
        where = f"{mount.key}:{mount.cgroup_path(directory)}"
        raise InvalidRequest(
            f"{where} is frozen: a process joining it would stop at once; thaw it first "
            f"('cgscope thaw {pid}'), or {STAY}"
        )
