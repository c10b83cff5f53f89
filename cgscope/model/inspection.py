"""Everything `cgscope inspect` shows of one container (or one host process): its isolation map, its rootfs
and layers, and its lifecycle. A thin bridge over fs/ and the pure models, shared by the CLI and the
dashboard."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace

from cgscope.errors import AccessDenied, NotFound, ProcessGone
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounttable import Mount, read_mount_table, root_device
from cgscope.model.collect import Collector
from cgscope.model.containers import Container, Inventory
from cgscope.model.isolation import Isolation, namespace_states, read_isolation, shared_types
from cgscope.model.layers import RootFs, read_rootfs
from cgscope.model.lifecycle import Lifecycle, read_lifecycle
from cgscope.model.process import Process


@dataclass(frozen=True)
class Subject:
    """What was asked for: a container (seen through its init) or a host process on its own."""

    container: Container | None
    process: Process


@dataclass(frozen=True)
class Inspection:
    subject: Subject
    isolation: Isolation
    rootfs: RootFs
    lifecycle: Lifecycle | None  # None for a host process


def resolve(inv: Inventory, collector: Collector, ref: str) -> Subject:
    """A container named by name, id prefix or member pid; or, for the pid of a host process, that process."""
    if ref.isdigit():
        pid = int(ref)
        container = inv.container_of.get(pid)
        if container is None:
            try:
                process = inv.processes.get(pid) or collector.process(pid)
            except ProcessGone:
                process = None
            if process is not None:
                return Subject(None, process)
            if not any(c.id.startswith(ref) for c in inv.containers):
                raise NotFound(f"no such process or container: {ref} (see 'cgscope containers')")
    container = inv.find(ref)
    init = inv.processes.get(container.init_pid) or collector.process(container.init_pid)
    return Subject(container, init)


def mount_table(host: HostRoot, pid: int) -> list[Mount] | None:
    with suppress(AccessDenied):
        return read_mount_table(host.proc, pid)
    return None


def inspect(
    host: HostRoot, collector: Collector, inv: Inventory, subject: Subject, *, sizes: bool = True
) -> Inspection:
    """Read the isolation map, the rootfs (with each layer's size unless `sizes` is false) and the lifecycle
    of `subject`."""
    c, p = subject.container, subject.process
    mounts = mount_table(host, p.pid)
    rootfs = read_rootfs(host, p.pid, mounts, root_device(host.proc, p.pid), sizes)
    namespaces = c.namespaces if c is not None else p.namespaces
    shared = c.shared_with_host if c is not None else shared_types(namespaces, inv.host_namespaces)
    states = namespace_states(namespaces, inv.host_namespaces, shared)
    isolation = read_isolation(host, p.pid, states, mounts=mounts, root=rootfs.mount)
    if c is None:  # the notes speak of a container and the host; a host process is the host
        isolation = replace(isolation, notes=())
    lifecycle = read_lifecycle(host, collector, c, inv.processes) if c is not None else None
    return Inspection(subject, isolation, rootfs, lifecycle)
