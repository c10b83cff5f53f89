"""The containers of a refresh, grouped again only when what grouping stands on says it changed.

Grouping (model/containers.py) reads, per container, its init's /proc/PID/cgroup and the runtimes'
state by id, and per bare container its hostname and cgroup: two fifths of a steady refresh on a node
of 200 containers. What it stands on shows in three signals a refresh reads anyway: the pid listing (a
process came or went; a reused pid is a new /proc/PID inode), the primary hierarchy's walk (a cgroup
made or removed, as `cgscope limit` makes one) and each container cgroup's members (a process moved in
or out). While all three are as they were, the last grouping stands, for at most `seconds`: what none
of them shows — a process that unshare()s or setns()es without forking, an init moved between two
cgroups that are no container's, a container renamed in its runtime's state — shows within that time.

A node's pid listing changes nearly every refresh (probes, cron, the kubelet's helpers), most often
by host processes only: the grouping then stands with its host pids updated, when every process that
came is in the host's pid and mount namespaces, in no container's cgroup and no runtime daemon, and
every one that went was neither a container's nor a daemon. Any other change groups again.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path

from cgscope.errors import AccessDenied, ProcessGone
from cgscope.fs.hostroot import HostRoot
from cgscope.model.collect import Collector
from cgscope.model.containers import Inventory, group_containers
from cgscope.model.runtime_cgroups import runtime_cgroups
from cgscope.model.runtimes import DAEMONS, KeptStates

# How old a grouping may be before it is made again however the signals stand: what no signal shows
# shows within it. For the callers someone watches refresh every second or so (the dashboard, `top`),
# and for those that run unwatched (the exporter, which walks every 5 s and would otherwise group at each
# walk, and the recorder): grouping 200 containers costs ~30 ms.
REGROUP_SECONDS = 5.0
UNWATCHED_REGROUP_SECONDS = 30.0


@dataclass(frozen=True)
class _Grouped:
    """A grouping and what it stood on."""

    cgroups: tuple[object, ...]  # the walk of the primary hierarchy, the runtimes' cgroups and members
    listing: Mapping[int, int]  # pid -> /proc/PID inode
    inventory: Inventory
    daemons: frozenset[int]  # the runtime daemons among its host pids


class KeptGrouping:
    """The containers-view grouping of a Sampler; `seconds` 0 groups every refresh."""

    def __init__(self, host: HostRoot, collector: Collector, states: KeptStates, seconds: float) -> None:
        self.host, self.collector, self.states, self.seconds = host, collector, states, seconds
        self._last: _Grouped | None = None
        self._at = -float("inf")  # time.monotonic() of the last grouping

    def group(self, walked: Sequence[Path]) -> Inventory:
        """The containers now; `walked`: the primary hierarchy as this refresh walked it."""
        listed = self.collector.pids()
        runtime = runtime_cgroups(self.host, walked)
        cgroups, listing = (tuple(walked), runtime), dict(self.collector.listing)
        now = time.monotonic()
        last = self._last
        if last is not None and now - self._at < self.seconds and last.cgroups == cgroups:
            if last.listing == listing:
                return last.inventory
            inventory = self._with_host_processes(last, listing)
            if inventory is not None:
                self._last = replace(last, listing=listing, inventory=inventory)
                return inventory
        inventory = group_containers(
            self.host, self.collector, None, walked, self.states, listed=listed, runtime=runtime
        )
        comms = self.collector.comms(inventory.host_pids)  # kept: read by the grouping already
        daemons = frozenset(pid for pid, comm in comms.items() if comm in DAEMONS)
        self._last, self._at = _Grouped(cgroups, listing, inventory, daemons), now
        return inventory

    def _with_host_processes(self, last: _Grouped, listing: Mapping[int, int]) -> Inventory | None:
        """`last`'s grouping with the processes that came and went since, where all are the host's."""
        gone = {pid for pid, inode in last.listing.items() if listing.get(pid) != inode}
        came = [pid for pid, inode in listing.items() if last.listing.get(pid) != inode]
        inventory = last.inventory
        if any(pid in inventory.container_of or pid in last.daemons for pid in gone):
            return None
        if not self._host_processes(came, inventory):
            return None
        host_pids = set(inventory.host_pids).difference(gone).union(came)
        return replace(inventory, host_pids=tuple(sorted(host_pids)))

    def _host_processes(self, pids: Iterable[int], inventory: Inventory) -> bool:
        """Whether each of `pids` is a host process, as group_containers would place it: in the host's
        pid and mount namespaces (two readlinks), no runtime daemon (its comm), in no cgroup an OCI
        state claims (/proc/PID/cgroup; a runtime's named cgroups are in the signals already). One gone
        meanwhile stays a host pid, as it would there."""
        pids = list(pids)
        if any(comm in DAEMONS for comm in self.collector.comms(pids).values()):
            return False
        host_ns = inventory.host_namespaces
        claimed: dict[str, set[str]] = {}
        for c in inventory.containers:
            if c.runtime != "bare":  # a bare container's members are its namespaces', whatever cgroup
                for key, path in c.cgroup.items():
                    claimed.setdefault(key, set()).add(path)
        for pid, ns in self.collector.placements(pids).items():
            if ns["pid"] is None and ns["mnt"] is None:
                return False  # unreadable: a grouping says it is uninspected
            if any(ns[t] is not None and host_ns.get(t) not in (None, ns[t]) for t in ("pid", "mnt")):
                return False
            with suppress(ProcessGone, AccessDenied):
                cgroups = self.collector.cgroups(pid)
                if any(_within(path, claimed.get(key, ())) for key, path in cgroups.items()):
                    return False
        return True


def _within(path: str, cgroups: Collection[str]) -> bool:
    """Whether cgroup `path` is one of `cgroups` or below one."""
    while cgroups:
        if path in cgroups:
            return True
        if path in ("/", ""):
            return False
        path = path.rsplit("/", 1)[0] or "/"
    return False
