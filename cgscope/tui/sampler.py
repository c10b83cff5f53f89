"""What one refresh reads, in a worker thread: a Frame holds everything the dashboard's screens show.

The cost grows with what is shown: every refresh places processes into containers (per cgroup, plus
two namespace links per host process) and reads the host's load; every process is read in full only
while a view lists them, and the cgroup trees are walked only while the tree view is open.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.fs.procfs import kernel_identity
from cgscope.fs.system import SystemInfo, read_system
from cgscope.model.collect import Collector
from cgscope.model.containers import Inventory, group_containers
from cgscope.model.namespaces import Namespace, list_namespaces
from cgscope.model.process import Process
from cgscope.model.tree import CgroupNode, read_tree


class Need(enum.Enum):
    """Parts of a Frame that cost more than the containers list; a screen names those it shows."""

    PROCESSES = "processes"  # every process read in full (and the namespaces list made from them)
    TREES = "trees"  # the cgroup tree of every hierarchy


@dataclass(frozen=True)
class Frame:
    number: int  # 1 for the first refresh, then counting up
    taken_at: float  # time.time() when the refresh ended
    hostname: str
    kernel: str
    system: SystemInfo
    inventory: Inventory
    processes: Mapping[int, Process] | None = None  # with Need.PROCESSES
    namespaces: tuple[Namespace, ...] | None = None  # with Need.PROCESSES
    trees: tuple[tuple[CgroupMount, CgroupNode], ...] | None = None  # with Need.TREES


class Sampler:
    """Reads a Frame; keeps one Collector alive so what never changes per process is read once."""

    def __init__(self, host: HostRoot) -> None:
        self.host = host
        self.collector = Collector(host)
        self.count = 0

    def sample(self, needs: Collection[Need]) -> Frame:
        hostname, kernel = kernel_identity(self.host.proc)
        system = read_system(self.host.proc)
        processes: Mapping[int, Process] | None = None
        namespaces: tuple[Namespace, ...] | None = None
        if Need.PROCESSES in needs:
            snapshot = self.collector.snapshot()
            processes = snapshot.processes
            namespaces = tuple(list_namespaces(snapshot))
        inventory = group_containers(self.host, self.collector, processes)
        if processes is None:  # only container members were read: forget processes read before
            self.collector.retain(inventory.processes.values())
        trees = None
        if Need.TREES in needs:
            trees = tuple((m, read_tree(m)) for m in self.host.mounts)
        self.count += 1
        return Frame(
            number=self.count,
            taken_at=time.time(),
            hostname=hostname,
            kernel=kernel,
            system=system,
            inventory=inventory,
            processes=processes,
            namespaces=namespaces,
            trees=trees,
        )
