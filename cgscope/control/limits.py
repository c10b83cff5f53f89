"""`limit`: a LimitRequest for a target, planned as the exact writes cgroup v1 or v2 needs.

Which cgroup: a container's own cgroup; for a process, its cgroup in each hierarchy the request needs.
When that cgroup is a root, or holds processes outside the target, a cgroup `cgscope-<pid>` is made
below it (or the one --into names) and the target moved there first — as one does by hand: mkdir,
write the quota, write the pid to cgroup.procs. What each controller writes there: limit_writes.py.
"""

from __future__ import annotations

from pathlib import Path

from cgscope.control.errors import InvalidRequest
from cgscope.control.limit_writes import ControllerWrites, Place
from cgscope.control.placement import check_destination, has_processes, make_steps, move_step, threads
from cgscope.control.plan import Affected, Plan, Step
from cgscope.control.request import LimitRequest
from cgscope.control.target import Target, commands
from cgscope.fs.cgroupfs import all_subtree_procs
from cgscope.fs.controlfiles import read_value
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount


def plan_limit(host: HostRoot, target: Target, request: LimitRequest) -> Plan:
    return _Planner(host, target, request).plan()


def controller_mount(host: HostRoot, controller: str) -> CgroupMount:
    """The hierarchy holding a controller: its v1 mount, else cgroup v2 if enabled there. cgroup v1
    names the io controller "blkio"."""
    names = ("blkio", "io") if controller == "io" else (controller,)
    for name in names:
        mount = host.mount_for(name)
        if mount is not None:
            return mount
    raise InvalidRequest(
        f"the {controller} controller is not available: no cgroup v1 hierarchy mounts it and cgroup v2 "
        "does not offer it (cgroup.controllers)"
    )


class _Planner(ControllerWrites):
    def __init__(self, host: HostRoot, target: Target, request: LimitRequest) -> None:
        super().__init__(host, target, request)
        self.mkdirs: list[Step] = []
        self.enables: list[Step] = []
        self.moves: list[Step] = []
        self.notes: list[str] = []
        self.others: set[int] = set()

    def plan(self) -> Plan:
        by_mount: dict[CgroupMount, list[str]] = {}
        for controller in self.req.controllers():
            by_mount.setdefault(controller_mount(self.host, controller), []).append(controller)
        for mount, controllers in by_mount.items():
            place = self._place(mount, controllers)
            for controller in controllers:
                self.plan_controller(controller, place)
        steps = (*self.mkdirs, *self.enables, *self.writes, *self.moves)
        if not steps:
            self.notes.append("the limits asked for are in place already: nothing to write")
        names = commands(self.host, [*self.target.pids, *self.others])
        affected = [Affected(pid, names.get(pid, "?"), True) for pid in self.target.pids]
        affected += [Affected(pid, names[pid], False) for pid in sorted(self.others) if pid in names]
        return Plan(
            action="limit",
            target=self.target.label,
            target_pids=self.target.pids,
            steps=steps,
            affected=tuple(affected),
            notes=tuple(self.notes),
            warnings=tuple(self.warnings),
            container=self.target.container,
        )

    # -- where ----------------------------------------------------------------------------------------

    def _place(self, mount: CgroupMount, controllers: list[str]) -> Place:
        label = self.target.label
        current = self.target.cgroups.get(mount.key)
        here = mount.directory(current) if current is not None else None
        if current is None or here is None or not here.is_dir():
            raise InvalidRequest(
                f"{label} is in {mount.key}:{current or '?'}, which "
                f"{self.host.shown(mount.mountpoint)} does not show (another cgroup namespace, or "
                "permission denied)"
            )
        root = here == mount.mountpoint
        if self.req.into is not None:
            into = self.req.into
            path = into if into.startswith("/") else f"{current.rstrip('/')}/{into}"
            directory = mount.directory(path)
            if directory is None or directory == mount.mountpoint:
                raise InvalidRequest(f"--into {into}: {mount.key}:{path} is not a cgroup cgscope may use")
            return self._into(mount, controllers, directory, f"--into {into}")
        if not any(self.req.sets(c) for c in controllers):
            if root:
                raise InvalidRequest(
                    f"{label} is in the root cgroup of {mount.key}: there is no limit to remove"
                )
            return self._in_place(mount, controllers, here)
        others = set() if root else self._others(here)
        if not root and not others:
            return self._in_place(mount, controllers, here)
        if mount.version == 2 and not root:
            raise InvalidRequest(
                f"{label} shares {mount.key}:{current} with {len(others)} other process(es), and "
                "cgroup v2 lets a cgroup that holds processes pass no controller to a child "
                "(no-internal-process rule): choose a place with --into /PATH"
            )
        name = f"cgscope-{self.target.init_pid}"
        why = "the root cgroup" if root else f"a cgroup shared with {len(others)} other process(es)"
        return self._into(mount, controllers, here / name, f"{label} is in {why} of {mount.key}")

    def _others(self, directory: Path) -> set[int]:
        """The processes a change in `directory` would reach besides the target's."""
        return all_subtree_procs(directory, self.host.shown) - set(self.target.pids)

    def _in_place(self, mount: CgroupMount, controllers: list[str], directory: Path) -> Place:
        self.others |= self._others(directory)
        place = Place(mount, directory, new=False)
        self._enable(place, controllers)
        return place

    def _into(self, mount: CgroupMount, controllers: list[str], directory: Path, why: str) -> Place:
        check_destination(self.host, mount, directory)
        new = not directory.exists()
        cgroup = mount.cgroup_path(directory)
        if new:
            steps = make_steps(self.host, mount, directory)
            self.mkdirs += [s for s in steps if s.op == "mkdir"]
            self.writes += [s for s in steps if s.op == "write"]  # a new v1 cpuset's cpus and mems
        else:
            self.others |= self._others(directory)
        place = Place(mount, directory, new=new)
        self._enable(place, controllers)
        moved = []
        for pid in self.target.pids:
            step = move_step(self.host, mount, self.target.processes[pid], directory)
            if step is not None:
                self.moves.append(step)
                moved.append(f"{pid} ({threads(self.host, pid)} thread(s))")
        verb = "makes" if new else "uses"
        self.notes.append(f"{why}: cgscope {verb} {cgroup} and moves process {', '.join(moved)} there")
        return place

    def _enable(self, place: Place, controllers: list[str]) -> None:
        """cgroup v2: a controller's files appear in a cgroup only when every ancestor enables it in
        cgroup.subtree_control, and a non-root cgroup holding processes may enable none (cgroup-v2.rst,
        "Top-down Constraint", "No Internal Process Constraint")."""
        mount = place.mount
        if mount.version != 2:
            return
        chain = [d for d in reversed(place.directory.parents) if d.is_relative_to(mount.mountpoint)]
        for controller in controllers:
            for d in chain:
                made = not d.exists()
                if not made and controller in read_value(d / "cgroup.subtree_control").split():
                    continue
                where = f"{mount.key}:{mount.cgroup_path(d)}"
                if not made and d != mount.mountpoint and has_processes(d):
                    raise InvalidRequest(
                        f"the {controller} controller must be enabled in {where}, which holds "
                        "processes: cgroup v2 forbids that (no-internal-process rule): move them to a "
                        "child cgroup first"
                    )
                step = Step(
                    "enable", mount.key, mount.cgroup_path(d), d / "cgroup.subtree_control", f"+{controller}"
                )
                if step not in self.enables:
                    self.enables.append(step)
                    self.notes.append(f"enables {controller} in {where}/cgroup.subtree_control")
                place.fresh.add(controller)
