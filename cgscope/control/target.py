"""What a change acts on: one process, or a container (by name, id prefix or a member pid)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from cgscope.control.errors import InvalidRequest
from cgscope.errors import NotFound, ProcessGone
from cgscope.fs.hostroot import HostRoot
from cgscope.model.collect import Collector
from cgscope.model.containers import Container, Inventory, group_containers
from cgscope.model.process import Process


@dataclass(frozen=True)
class Target:
    kind: Literal["process", "container"]
    label: str  # "process 1234 (sh)", "container web (runc)"
    init_pid: int  # the process itself, or the container's init
    pids: tuple[int, ...]
    processes: Mapping[int, Process]
    cgroups: Mapping[str, str]  # hierarchy -> the container's own cgroup, or the process's


def resolve(host: HostRoot, ref: str, *, containers: bool = True) -> Target:
    """A pid names that process — or, when `containers` and the process belongs to a container, the
    container (as `cgscope ps PID` does); anything else names a container."""
    collector = Collector(host)
    if ref.isdigit():
        pid = int(ref)
        proc = _process(collector, pid)
        if containers:
            inv = group_containers(host, collector)
            found = inv.container_of.get(pid)
            if found is not None:
                return _container(found, inv)
        return Target("process", f"process {pid} ({proc.comm})", pid, (pid,), {pid: proc}, dict(proc.cgroups))
    if not containers:
        raise InvalidRequest(f"{ref!r} is not a pid: give a process id (see 'cgscope ps')")
    inv = group_containers(host, collector)
    return _container(inv.find(ref), inv)


def _process(collector: Collector, pid: int) -> Process:
    try:
        proc = collector.process(pid)
    except ProcessGone:
        raise NotFound(f"no such process: {pid} (see 'cgscope ps')") from None
    if proc.kernel_thread:
        raise InvalidRequest(
            f"process {pid} ([{proc.comm}]) is a kernel thread: cgscope changes only user processes"
        )
    if proc.state == "Z":
        raise InvalidRequest(f"process {pid} is a zombie: it has exited already")
    if pid == 1:
        raise InvalidRequest("process 1 is the host's init: cgscope never limits or moves it")
    return proc


def _container(c: Container, inv: Inventory) -> Target:
    members = {pid: inv.processes[pid] for pid in c.pids if pid in inv.processes}
    live = {pid: p for pid, p in members.items() if p.state != "Z"}
    if not live:
        raise InvalidRequest(f"container {c.name} has no running process left")
    init = members.get(c.init_pid) or next(iter(live.values()))
    cgroups = {**init.cgroups, **c.cgroup}
    return Target(
        "container", f"container {c.name} ({c.runtime})", init.pid, tuple(sorted(live)), live, cgroups
    )


def commands(host: HostRoot, pids: Iterable[int]) -> dict[int, str]:
    """Each pid's command line (ps style), for listing the processes a change reaches."""
    return {pid: p.command for pid, p in Collector(host).processes(pids).items()}
