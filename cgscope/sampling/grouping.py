"""The containers of a refresh, grouped again only when what grouping stands on says it changed.

Grouping (model/containers.py) reads, per container, its init's /proc/PID/cgroup and the runtimes'
state by id, and per bare container its hostname and cgroup: two fifths of a steady refresh on a node
of 200 containers. What it stands on shows in three signals a refresh reads anyway: the pid listing (a
process came or went; a reused pid is a new /proc/PID inode), the primary hierarchy's walk (a cgroup
made or removed, as `cgscope limit` makes one) and each container cgroup's members (a process moved in
or out). While all three are as they were, the last grouping stands, for at most `seconds`: what none
of them shows — a process that unshare()s or setns()es without forking, an init moved between two
cgroups that are no container's, a container renamed in its runtime's state — shows within that time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from cgscope.fs.hostroot import HostRoot
from cgscope.model.collect import Collector
from cgscope.model.containers import Inventory, group_containers
from cgscope.model.runtime_cgroups import runtime_cgroups
from cgscope.model.runtimes import KeptStates

# How old a grouping may be before it is made again however the signals stand, for the callers that
# refresh every second or so (the dashboard, `top`, the exporter): what no signal shows shows within it.
REGROUP_SECONDS = 5.0


class KeptGrouping:
    """The containers-view grouping of a Sampler; `seconds` 0 groups every refresh."""

    def __init__(self, host: HostRoot, collector: Collector, states: KeptStates, seconds: float) -> None:
        self.host, self.collector, self.states, self.seconds = host, collector, states, seconds
        self._last: tuple[object, Inventory] | None = None  # (the signals, the grouping made of them)
        self._at = -float("inf")  # time.monotonic() of the last grouping

    def group(self, walked: Sequence[Path]) -> Inventory:
        """The containers now; `walked`: the primary hierarchy as this refresh walked it."""
        listed = self.collector.pids()
        runtime = runtime_cgroups(self.host, walked)
        signals = (tuple(walked), dict(self.collector.listing), runtime)
        now = time.monotonic()
        if self._last is not None and now - self._at < self.seconds and self._last[0] == signals:
            return self._last[1]
        inventory = group_containers(
            self.host, self.collector, None, walked, self.states, listed=listed, runtime=runtime
        )
        self._last, self._at = (signals, inventory), now
        return inventory
