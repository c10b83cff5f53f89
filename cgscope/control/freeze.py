"""`freeze` and `thaw` a container: cgroup v1's freezer.state, else cgroup v2's cgroup.freeze. The writer
waits until the kernel reports the state reached (FROZEN; "frozen 1" in cgroup.events)."""

from __future__ import annotations

from cgscope.control.errors import InvalidRequest
from cgscope.control.plan import Affected, Plan, Step
from cgscope.control.target import commands, resolve
from cgscope.fs.cgroupfs import all_subtree_procs
from cgscope.fs.controlfiles import read_value
from cgscope.fs.hostroot import HostRoot
from cgscope.model.runtimes import PAUSING_RUNTIMES


def plan_freeze(host: HostRoot, ref: str, frozen: bool) -> Plan:
    action = "freeze" if frozen else "thaw"
    target = resolve(host, ref)
    if target.kind != "container":
        raise InvalidRequest(
            f"{target.label} is not in a container: {action} takes a container, whose cgroup is frozen whole "
            "(see 'cgscope containers')"
        )
    mount = host.mount_for("freezer") or host.unified  # cgroup.freeze is core in v2, not a controller
    if mount is None:
        raise InvalidRequest("no freezer: neither a cgroup v1 freezer hierarchy nor cgroup v2 is mounted")
    current = target.cgroups.get(mount.key)
    directory = mount.directory(current) if current is not None else None
    if current is None or directory is None or directory == mount.mountpoint:
        raise InvalidRequest(
            f"{target.label} has no cgroup of its own in {mount.key} (it is in {current or '?'}): "
            "a root cgroup cannot be frozen; give it one with 'cgscope move'"
        )
    v1 = mount.version == 1
    file = directory / ("freezer.state" if v1 else "cgroup.freeze")
    value = ("FROZEN" if frozen else "THAWED") if v1 else ("1" if frozen else "0")
    now = read_value(file)
    others = sorted(all_subtree_procs(directory, host.shown) - set(target.pids))
    names = commands(host, [*target.pids, *others])
    affected = [Affected(pid, names.get(pid, "?"), True) for pid in target.pids]
    affected += [Affected(pid, names[pid], False) for pid in others if pid in names]
    steps: tuple[Step, ...] = ()
    if now == value:
        notes = [f"{target.label} is {'frozen' if frozen else 'thawed'} already"]
    else:
        steps = (Step("freeze", mount.key, current, file, value, old=now),)
        notes = [f"{'freezes' if frozen else 'thaws'} {mount.key}:{current}"]
    warnings = []
    runtime = target.container.runtime if target.container is not None else ""
    if steps and target.container is not None and runtime in PAUSING_RUNTIMES:
        name = target.container.name or target.container.id[:12]
        notes.append(f"{runtime} keeps its own paused state: it will still report {name} as it was")
        warnings.append(_paused_warning(runtime, name, frozen))
    return Plan(
        action, target.label, target.pids, steps, tuple(affected), tuple(notes), tuple(warnings),
        container=target.container,
    )  # fmt: skip


def _paused_warning(runtime: str, name: str, frozen: bool) -> str:
    if frozen:
        return (
            f"{runtime} tracks pause itself and will not know {name} is frozen: "
            f"'{runtime} pause {name}' pauses it the way {runtime} sees"
        )
    return (
        f"{runtime} tracks pause itself: if '{runtime} pause' froze {name}, a thaw here leaves {runtime} "
        f"at Paused=true and a later '{runtime} unpause' fails: use '{runtime} unpause {name}'"
    )
