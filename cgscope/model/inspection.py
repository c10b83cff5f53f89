"""Everything `cgscope inspect` shows of one container (or one host process): its isolation map, its rootfs
and layers, and its lifecycle. A thin bridge over fs/ and the pure models, shared by the CLI and the
dashboard."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace

from cgscope.errors import AccessDenied
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounttable import Mount, read_mount_table, root_device
from cgscope.model.collect import Collector
from cgscope.model.containers import Container, Inventory
from cgscope.model.isolation import Isolation, namespace_states, read_isolation, shared_types
from cgscope.model.layers import RootFs, read_rootfs
from cgscope.model.lifecycle import Lifecycle, read_lifecycle
from cgscope.model.process import Process
from cgscope.model.target import ReadProcess, Resolved


@dataclass(frozen=True)
class Subject:
    """What was asked for: a container (seen through its init) or a host process on its own."""

    container: Container | None
    process: Process
    among: tuple[Container, ...] = ()  # every container, so that its id is shown as no other reads


@dataclass(frozen=True)
class Inspection:
    subject: Subject
    isolation: Isolation
    rootfs: RootFs
    lifecycle: Lifecycle | None  # None for a host process


def subject_of(inv: Inventory, found: Resolved, read: ReadProcess) -> Subject:
    """What to inspect for a resolved reference: a container through its init, or a host process."""
    if found.container is None:
        assert found.process is not None
        return Subject(None, found.process)
    init = inv.processes.get(found.container.init_pid) or read(found.container.init_pid)
    return Subject(found.container, init, inv.containers)


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
