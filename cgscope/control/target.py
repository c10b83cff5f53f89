"""What a change acts on: one process, or a container (by name, id prefix or a member pid)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from cgscope.control.errors import InvalidRequest
from cgscope.fs.hostroot import HostRoot
from cgscope.model import target as model_target
from cgscope.model.collect import Collector
from cgscope.model.containers import Container, Inventory, group_containers
from cgscope.model.process import Process
from cgscope.model.target import resolve_process


@dataclass(frozen=True)
class Target:
    kind: Literal["process", "container"]
    label: str  # "process 1234 (sh)", "container web (runc)"
    init_pid: int  # the process itself, or the container's init
    pids: tuple[int, ...]
    processes: Mapping[int, Process]
    cgroups: Mapping[str, str]  # hierarchy -> the container's own cgroup, or the process's
    container: Container | None = None


def resolve(host: HostRoot, ref: str, *, containers: bool = True) -> Target:
    """A reference by model/target.py's rules, with the control layer's safety checks: a pid names that
    process — or, when `containers` and the process belongs to a container, the container (as `cgscope ps
    PID` does); anything else names a container."""
    collector = Collector(host)
    if not containers:
        return _process(resolve_process(ref, collector.process))
    inv = group_containers(host, collector)
    found = model_target.resolve(inv, ref, collector.process)
    if found.container is not None:
        return _container(found.container, inv)
    assert found.process is not None
    return _process(found.process)


def _process(proc: Process) -> Target:
    pid = acted_on(proc, "changes", "limits or moves").pid
    return Target("process", f"process {pid} ({proc.comm})", pid, (pid,), {pid: proc}, dict(proc.cgroups))


def acted_on(proc: Process, verb: str, never: str) -> Process:
    """The control layer acts on user processes only: never a kernel thread, a zombie, the host's init
    or cgscope itself. `verb`, `never`: what the refusal says cgscope does ("changes", "limits or moves")."""
    pid = proc.pid
    if proc.kernel_thread:
        raise InvalidRequest(
            f"process {pid} ([{proc.comm}]) is a kernel thread: cgscope {verb} only user processes"
        )
    if proc.state == "Z":
        raise InvalidRequest(f"process {pid} is a zombie: it has exited already (its parent reaps it)")
    if pid == 1:
        raise InvalidRequest(f"process 1 is the host's init: cgscope never {never} it")
    if pid == os.getpid():
        raise InvalidRequest(f"process {pid} is cgscope itself: quit it instead")
    return proc


def _container(c: Container, inv: Inventory) -> Target:
    members = {pid: inv.processes[pid] for pid in c.pids if pid in inv.processes}
    live = {pid: p for pid, p in members.items() if p.state != "Z"}
    if not live:
        raise InvalidRequest(f"container {c.name} has no running process left")
    init = members.get(c.init_pid) or next(iter(live.values()))
    cgroups = {**init.cgroups, **c.cgroup}
    return Target(
        "container", f"container {c.name} ({c.runtime})", init.pid, tuple(sorted(live)), live, cgroups, c
    )


def commands(host: HostRoot, pids: Iterable[int]) -> dict[int, str]:
    """Each pid's command line (ps style), for listing the processes a change reaches."""
    return {pid: p.command for pid, p in Collector(host).processes(pids).items()}
