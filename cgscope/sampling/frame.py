"""A Frame: what one refresh read, for every consumer of the sampling core (the dashboard, `top`)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from cgscope.fs.mounts import CgroupMount
from cgscope.fs.system import SystemInfo
from cgscope.model.containers import Inventory
from cgscope.model.derive import ContainerUsage, ProcessUsage, Usage
from cgscope.model.namespaces import Namespace
from cgscope.model.process import Process
from cgscope.model.state import ContainerState
from cgscope.model.tree import CgroupNode
from cgscope.model.usage import ViewInputs


class Need(enum.Enum):
    """Parts of a Frame that cost more than the containers list; a screen names those it shows."""

    PROCESSES = "processes"  # every process read in full (and the namespaces list made from them)
    TREES = "trees"  # the cgroup tree of every hierarchy


@dataclass(frozen=True)
class Detail:
    """What the open container detail shows beyond the containers list (read for that container only)."""

    key: str  # the container's id
    view: ViewInputs | None  # what its /proc files would say under LXCFS; None: unreadable
    processes: Mapping[int, ProcessUsage]  # by host pid; CPU % from the second refresh on


@dataclass(frozen=True)
class Frame:
    number: int  # 1 for the first refresh, then counting up
    taken_at: float  # time.time() when the refresh ended
    hostname: str
    kernel: str
    system: SystemInfo
    inventory: Inventory
    processes: Mapping[int, Process] | None = None  # with Need.PROCESSES
    process_usage: Mapping[int, ProcessUsage] | None = None  # with Need.PROCESSES, by pid
    namespaces: tuple[Namespace, ...] | None = None  # with Need.PROCESSES
    trees: tuple[tuple[CgroupMount, CgroupNode], ...] | None = None  # with Need.TREES
    usage: Usage | None = None  # the host's, since the last refresh; None: its counters are unreadable
    container_usage: Mapping[str, ContainerUsage] = field(default_factory=dict)  # by container id
    states: Mapping[str, ContainerState] = field(default_factory=dict)  # by container id
    detail: Detail | None = None  # for the container whose detail is open (`focus`)
