"""`move PID CGROUP`: move a process, with all its threads, into a cgroup of every hierarchy (or those
named). cgroup v2 refuses some destinations; they are refused here first, with the kernel's reason."""

from __future__ import annotations

from collections.abc import Sequence

from cgscope.control.errors import InvalidRequest
from cgscope.control.placement import check_destination, make_steps, move_step, threads
from cgscope.control.plan import Affected, Plan, Step
from cgscope.control.target import resolve
from cgscope.control.values import parse_cgroup_path
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount


def plan_move(
    host: HostRoot, ref: str, cgroup: str, *, create: bool = False, hierarchies: Sequence[str] = ()
) -> Plan:
    """`cgroup` is a path as /proc/PID/cgroup shows it; `hierarchies` names hierarchies ("memory",
    "cpu,cpuacct", "name=systemd", "unified") or controllers ("cpu"); none means every hierarchy."""
    path = parse_cgroup_path(cgroup)
    target = resolve(host, ref, containers=False)
    proc = target.processes[target.init_pid]
    mkdirs: list[Step] = []
    writes: list[Step] = []
    moves: list[Step] = []
    notes = []
    for mount in selected_mounts(host, hierarchies):
        directory = mount.directory(path)
        if directory is None:
            raise InvalidRequest(f"{mount.key}:{path} is outside what {host.shown(mount.mountpoint)} shows")
        check_destination(host, mount, directory)
        if not directory.exists():
            if not create:
                raise InvalidRequest(f"there is no cgroup {path} in {mount.key}: add --create to make it")
            made = make_steps(host, mount, directory)
            mkdirs += [s for s in made if s.op == "mkdir"]
            writes += [s for s in made if s.op == "write"]  # a new v1 cpuset's cpus and mems
        step = move_step(host, mount, proc, directory)
        if step is None:
            notes.append(f"process {proc.pid} is in {mount.key}:{path} already")
        else:
            moves.append(step)
    if moves:
        notes.append(f"moves process {proc.pid} with its {threads(host, proc.pid)} thread(s)")
    return Plan(
        action="move",
        target=target.label,
        target_pids=target.pids,
        steps=(*mkdirs, *writes, *moves),
        affected=(Affected(proc.pid, proc.command, True),),
        notes=tuple(notes),
    )


def selected_mounts(host: HostRoot, names: Sequence[str]) -> list[CgroupMount]:
    if not names:
        return list(host.mounts)
    found: list[CgroupMount] = []
    for name in (n for text in names for n in text.split(",") if n):
        mount = host.mount(name) or host.mount_for(name)
        if mount is None:
            known = ", ".join(m.key for m in host.mounts)
            raise InvalidRequest(f"--controller {name}: no such hierarchy or controller (there are: {known})")
        if mount not in found:
            found.append(mount)
    return found
