"""Putting processes into cgroups: making a cgroup ready to hold them, and the moves themselves.
Shared by `limit` (which may make a cgroup for its target) and `move`."""

from __future__ import annotations

from pathlib import Path

from cgscope.control.errors import InvalidRequest
from cgscope.control.paths import mount_of
from cgscope.control.plan import Step
from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs import cgroupfs, procfs
from cgscope.fs.controlfiles import read_value
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.model.process import Process


def existing_ancestor(directory: Path) -> Path:
    """`directory` if it exists, else its nearest ancestor that does."""
    return next(d for d in (directory, *directory.parents) if d.is_dir())


def make_steps(host: HostRoot, mount: CgroupMount, directory: Path) -> list[Step]:
    """mkdir `directory` and any missing parents, top down. A new v1 cpuset gets its parent's cpus and
    mems first: an empty cpuset cannot hold a task (cgroup-v1/cpusets.rst)."""
    mount_of(host, directory)
    base = existing_ancestor(directory)
    if not base.is_relative_to(mount.mountpoint):
        raise InvalidRequest(f"{host.shown(directory)} is outside {host.shown(mount.mountpoint)}")
    missing = [d for d in (directory, *directory.parents) if d.is_relative_to(base) and d != base]
    steps = []
    for d in reversed(missing):
        steps.append(Step("mkdir", mount.key, mount.cgroup_path(d), d))
        if mount.version == 1 and "cpuset" in mount.controllers:
            for name in ("cpuset.cpus", "cpuset.mems"):
                inherited = read_value(base / name)
                steps.append(Step("write", mount.key, mount.cgroup_path(d), d / name, inherited))
    return steps


def check_destination(host: HostRoot, mount: CgroupMount, directory: Path) -> None:
    """Refuse, before writing, a cgroup v2 destination that cannot take a process (cgroup-v2.rst):
    one that passes controllers to children (no-internal-process rule, EBUSY) or a "domain invalid" one
    inside a threaded subtree (EOPNOTSUPP). The root cgroup is exempt."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise InvalidRequest(f"{host.shown(directory)} is a file, not a cgroup")
    mount_of(host, directory)  # refuses a symlink
    if mount.version != 2 or directory == mount.mountpoint:
        return
    where = f"{mount.key}:{mount.cgroup_path(directory)}"
    enabled = read_value(directory / "cgroup.subtree_control").split()
    if enabled:
        raise InvalidRequest(
            f"{where} passes {', '.join(enabled)} to its children, so cgroup v2 keeps processes out of it "
            "(no-internal-process rule, EBUSY): choose a leaf cgroup"
        )
    kind = directory / "cgroup.type"
    if kind.exists() and read_value(kind) == "domain invalid":
        raise InvalidRequest(
            f"{where} is 'domain invalid' (a threaded subtree's leftover, cgroup.type): "
            "no process may join it (EOPNOTSUPP)"
        )


def move_step(host: HostRoot, mount: CgroupMount, proc: Process, directory: Path) -> Step | None:
    """The step moving `proc` (all its threads: cgroup.procs takes a thread group) into `directory`;
    None when it is there already."""
    dest = mount.cgroup_path(directory)
    source = proc.cgroups.get(mount.key)
    if source == dest:
        return None
    source_dir = mount.directory(source) if source is not None else None
    if source is None or source_dir is None:
        raise InvalidRequest(
            f"process {proc.pid}'s cgroup in {mount.key} is {source or 'unknown'}: outside what "
            f"{host.shown(mount.mountpoint)} shows"
        )
    return Step(
        "move",
        mount.key,
        dest,
        directory / "cgroup.procs",
        value=str(proc.pid),
        pid=proc.pid,
        start_ticks=proc.start_ticks,
        source=source,
        source_path=source_dir / "cgroup.procs",
    )


def threads(host: HostRoot, pid: int) -> int:
    """How many threads the process has now (1 if it cannot be read)."""
    try:
        return procfs.read_stat(host.proc, pid).num_threads
    except (ProcessGone, AccessDenied):
        return 1


def has_processes(directory: Path) -> bool:
    try:
        return bool(cgroupfs.read_procs(directory))
    except ProcessGone:
        return False
