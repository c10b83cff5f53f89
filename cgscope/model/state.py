"""What a container is doing: running, frozen (its cgroup's freezer), or paused by its runtime.

Docker pauses a container by freezing its cgroup and records it (`docker inspect`: State.Paused); a
freeze by anyone else (`cgscope freeze`) leaves Docker's record as it was. So a frozen cgroup is
"paused" where the runtime's own state says so, else "frozen"; a runtime that records a pause its
cgroup no longer holds (thawed behind its back) is flagged, for `docker unpause` would fail.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Literal

from cgscope.errors import AccessDenied, InvalidFormat, ProcessGone
from cgscope.fs.freezer import read_freezer
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.runtime_state import RuntimeState
from cgscope.model.collect import Collector
from cgscope.model.containers import Container, Inventory
from cgscope.model.runtimes import DAEMONS, PAUSING_RUNTIMES, KeptStates, RuntimeStates

Activity = Literal["running", "freezing", "frozen", "paused"]


@dataclass(frozen=True, slots=True)
class ContainerState:
    activity: Activity | None  # None: its freezer is unreadable
    runtime: str
    runtime_paused: bool | None  # what the runtime's own state says; None: it keeps none cgscope reads

    @property
    def stale_pause(self) -> bool:
        """The runtime records a pause, but the cgroup runs: thawed behind the runtime's back."""
        return bool(self.runtime_paused) and self.activity == "running"

    @property
    def note(self) -> str | None:
        """What to say beside the state when the runtime's record disagrees with the cgroup."""
        if not self.stale_pause:
            return None
        return (
            f"{self.runtime} records it paused, but its cgroup was thawed: '{self.runtime} unpause' fails "
            f"until it is frozen again"
        )


def container_state(host: HostRoot, c: Container, runtime: RuntimeState | None) -> ContainerState:
    """One file of the container's cgroup (the freezer hierarchy's, else cgroup2's), and the runtime's
    own record where cgscope reads one (`runtime`, its state reader)."""
    paused = runtime.paused(c.id) if runtime is not None else None
    mount = host.mount_for("freezer") or host.unified  # cgroup v2's freezer is core, not a controller
    path = c.cgroup.get(mount.key) if mount is not None else None
    directory = mount.directory(path) if mount is not None and path is not None else None
    if mount is None or directory is None:
        return ContainerState(None, c.runtime, paused)
    if directory == mount.mountpoint:  # a root cgroup is never frozen
        return ContainerState("running", c.runtime, paused)
    freezer = None
    with suppress(ProcessGone, AccessDenied, InvalidFormat):  # unknown, not a failed refresh
        freezer = read_freezer(directory, mount.version)
    activity: Activity | None = None
    if freezer == "frozen":
        activity = "paused" if paused else "frozen"
    elif freezer is not None:
        activity = "freezing" if freezer == "freezing" else "running"
    return ContainerState(activity, c.runtime, paused)


def container_states(
    host: HostRoot, inv: Inventory, collector: Collector, kept: KeptStates | None = None
) -> dict[str, ContainerState]:
    """Each container's state, by id. The runtimes that record a pause are asked where one of theirs
    runs: their daemons (among the host's processes) say where their state is; `kept`: the state files
    as the grouping of `inv` read them."""
    if kept is not None and kept.current is not None:
        readers = kept.current.readers
    else:
        pausing = any(c.runtime in PAUSING_RUNTIMES for c in inv.containers)
        readers = RuntimeStates(host, collector.commands(DAEMONS, inv.host_pids) if pausing else {}).readers
    return {c.id: container_state(host, c, readers.get(c.runtime)) for c in inv.containers}
