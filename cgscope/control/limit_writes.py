"""The planners of `limit`, one per controller: the exact files cgroup v1 or v2 needs for a request,
written to the place (a cgroup of one hierarchy) limits.py chose. A new limit is its entry in
request.LIMIT_OPTIONS plus a method `_<controller>` here that appends its writes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from cgscope import units
from cgscope.control.errors import InvalidRequest
from cgscope.control.explain import MISSING_FILE
from cgscope.control.placement import existing_ancestor
from cgscope.control.plan import Step
from cgscope.control.request import QUOTA_MIN, LimitRequest
from cgscope.control.target import Target
from cgscope.control.values import MAX, Max
from cgscope.errors import ProcessGone
from cgscope.fs import procfs
from cgscope.fs.controlfiles import block_device, read_value
from cgscope.fs.hostroot import HostRoot
from cgscope.fs.mounts import CgroupMount
from cgscope.fs.parse import cpu_max, cpulist, flat_keyed, limit_value
from cgscope.fs.system import read_online

DEFAULT_PERIOD = 100_000  # µs: a new cgroup's CFS period
_V1_THROTTLE = {
    "rbps": "blkio.throttle.read_bps_device",
    "wbps": "blkio.throttle.write_bps_device",
    "riops": "blkio.throttle.read_iops_device",
    "wiops": "blkio.throttle.write_iops_device",
}


@dataclass
class Place:
    """Where one hierarchy's limits are written."""

    mount: CgroupMount
    directory: Path
    new: bool  # made by this plan: its files do not exist yet
    fresh: set[str] = field(default_factory=set)  # v2 controllers this plan enables for it

    @property
    def cgroup(self) -> str:
        return self.mount.cgroup_path(self.directory)

    @property
    def v1(self) -> bool:
        return self.mount.version == 1


class ControllerWrites:
    """The writes of each controller's options; limits.py's planner decides where they go."""

    def __init__(self, host: HostRoot, target: Target, request: LimitRequest) -> None:
        self.host, self.target, self.req = host, target, request
        self.writes: list[Step] = []
        self.warnings: list[str] = []

    def plan_controller(self, controller: str, place: Place) -> None:
        getattr(self, f"_{controller}")(place)

    # -- reading what is there --------------------------------------------------------------------------

    def _current(self, place: Place, name: str) -> str | None:
        """The file's value now; None for a cgroup (or controller) this plan brings in."""
        if place.new or name.split(".", maxsplit=1)[0] in place.fresh:
            return None
        path = place.directory / name
        if not path.exists():
            raise InvalidRequest(
                f"{self.host.shown(path)} does not exist: this kernel offers no {name} there ({MISSING_FILE})"
            )
        return read_value(path)

    def _write(self, place: Place, name: str, value: str) -> None:
        current = self._current(place, name)
        if current == value:
            return
        self.writes.append(
            Step("write", place.mount.key, place.cgroup, place.directory / name, value, old=current)
        )

    def _parent_value(self, place: Place, name: str) -> tuple[str, str]:
        """A file of the nearest existing cgroup above the place: (its cgroup path, the value)."""
        parent = existing_ancestor(place.directory.parent)
        return place.mount.cgroup_path(parent), read_value(parent / name)

    # -- cpu ------------------------------------------------------------------------------------------

    def _cpu(self, place: Place) -> None:
        req = self.req
        if req.cpu is not None or req.cpu_period is not None:
            quota, period = self._cpu_now(place)
            new_period = req.cpu_period or period
            cpus: float | Max = req.cpu if req.cpu is not None else (quota / period if quota else MAX)
            new_quota = None if cpus == MAX else self._quota(place, cpus, new_period)
            if place.v1:
                q, p = ("cpu.cfs_quota_us", str(new_quota or -1)), ("cpu.cfs_period_us", str(new_period))
                for name, value in (q, p) if _quota_first(quota, period, new_quota, new_period) else (p, q):
                    self._write(place, name, value)
            else:
                self._write(place, "cpu.max", f"{new_quota or MAX} {new_period}")
        if req.cpu_weight is not None:
            if place.v1:  # the kernel's own mapping of cpu.weight to shares: weight * 1024 / 100
                self._write(place, "cpu.shares", str(max(2, round(req.cpu_weight * 1024 / 100))))
            else:
                self._write(place, "cpu.weight", str(req.cpu_weight))

    def _cpu_now(self, place: Place) -> tuple[int | None, int]:
        """(quota or None for no limit, period) in µs."""
        if place.v1:
            q, p = self._current(place, "cpu.cfs_quota_us"), self._current(place, "cpu.cfs_period_us")
            quota = int(q) if q is not None and int(q) > 0 else None
            return quota, int(p) if p is not None else DEFAULT_PERIOD
        now = self._current(place, "cpu.max")
        return (None, DEFAULT_PERIOD) if now is None else cpu_max(now, place.directory / "cpu.max")

    def _quota(self, place: Place, cpus: float, period: int) -> int:
        shown = f"{cpus:g} CPU(s)"
        host_cpus = len(read_online(self.host))
        if cpus > host_cpus:
            raise InvalidRequest(f"--cpu {shown} is more than the {host_cpus} CPU(s) this host has")
        quota = round(cpus * period)
        if quota < QUOTA_MIN:
            raise InvalidRequest(
                f"--cpu {shown} is a quota of {quota} µs per {period} µs period, under the kernel's "
                "1 ms minimum: give a larger share or a longer --cpu-period"
            )
        if place.v1:  # v1 refuses (EINVAL) a quota above an ancestor's; v2 takes the smaller of the two
            top, start = place.mount.mountpoint, existing_ancestor(place.directory.parent)
            for d in (start, *start.parents):
                if d == top or not d.is_relative_to(top):
                    break
                q, p = int(read_value(d / "cpu.cfs_quota_us")), int(read_value(d / "cpu.cfs_period_us"))
                if q > 0 and cpus > q / p + 1e-9:
                    raise InvalidRequest(
                        f"--cpu {shown} is more than the {q / p:g} CPU(s) its parent "
                        f"{place.mount.cgroup_path(d)} "
                        "allows: cgroup v1 refuses a quota above a parent's"
                    )
        return quota

    # -- memory ----------------------------------------------------------------------------------------

    def _memory(self, place: Place) -> None:
        mem, swap = self.req.memory, self.req.memory_swap
        if isinstance(mem, int):
            self._warn_usage(place, mem)
        if place.v1:
            self._memory_v1(place, mem, swap)
            return
        if mem is not None:
            self._write(place, "memory.max", str(mem))
        if swap is not None:
            if swap == MAX:
                self._write(place, "memory.swap.max", MAX)
                return
            limit: int | Max | None = mem
            if limit is None:
                now = self._current(place, "memory.max")
                limit = MAX if now in (None, MAX) else int(now)
            if limit == MAX:
                raise InvalidRequest(
                    "--memory-swap counts memory plus swap: give --memory too "
                    "(cgroup v2's memory.swap.max limits swap alone)"
                )
            if swap < limit:
                raise InvalidRequest(f"--memory-swap {_size(swap)} is below the memory limit {_size(limit)}")
            self._write(place, "memory.swap.max", str(swap - limit))

    def _memory_v1(self, place: Place, mem: int | Max | None, swap: int | Max | None) -> None:
        """memory.memsw.limit_in_bytes (memory + swap) may never be below memory.limit_in_bytes: the kernel
        refuses either write that would break that (EINVAL), so raise memsw first, lower memory first
        (cgroup-v1/memory.rst, 2.4)."""
        memsw = self._memsw_file(place)
        if swap is not None and memsw is None:
            raise InvalidRequest(
                "--memory-swap: this kernel does not account swap (no memory.memsw.limit_in_bytes): "
                "boot it with swapaccount=1"
            )
        mem_now = _v1_bytes(self._current(place, "memory.limit_in_bytes"), "memory.limit_in_bytes")
        swap_now = _v1_bytes(self._current(place, memsw), memsw) if memsw else MAX
        new_mem = mem if mem is not None else mem_now
        if swap is None and mem is not None and swap_now != MAX and _above(mem, swap_now):
            raise InvalidRequest(
                f"--memory {_size(mem)} is above the memory+swap limit {_size(swap_now)} of "
                f"{place.cgroup}: give --memory-swap too"
            )
        if swap is not None and _above(new_mem, swap):
            raise InvalidRequest(f"--memory-swap {_size(swap)} is below the memory limit {_size(new_mem)}")
        writes = [("memory.limit_in_bytes", _v1_limit(mem))] if mem is not None else []
        if swap is not None and memsw is not None:
            raising = mem is not None and _above(mem, swap_now)
            writes.insert(0 if raising else len(writes), (memsw, _v1_limit(swap)))
        for name, value in writes:
            self._write(place, name, value)

    def _memsw_file(self, place: Place) -> str | None:
        name = "memory.memsw.limit_in_bytes"
        probe = place.directory if not place.new else existing_ancestor(place.directory)
        return name if (probe / name).exists() else None

    def _warn_usage(self, place: Place, limit: int) -> None:
        if place.new:
            used, who = self._rss(), f"{self.target.label} uses"
        else:  # the working set: what the kernel cannot reclaim (inactive page cache) before it OOM-kills
            name = "memory.usage_in_bytes" if place.v1 else "memory.current"
            now = self._current(place, name)
            stat = place.directory / "memory.stat"
            readable = "memory" not in place.fresh and stat.exists()
            cache = flat_keyed(read_value(stat), stat) if readable else {}
            inactive = cache.get("total_inactive_file" if place.v1 else "inactive_file", 0)
            used = max(0, (int(now) if now else 0) - inactive)
            who = f"working set {place.mount.key}:{place.cgroup} holds"
        if limit < used:
            self.warnings.append(
                f"--memory {_size(limit)} is below the {_size(used)} {who} now: "
                "the kernel will reclaim memory or OOM-kill"
            )

    def _rss(self) -> int:
        page = os.sysconf("SC_PAGE_SIZE")
        total = 0
        for pid in self.target.pids:
            try:
                total += procfs.read_stat(self.host.proc, pid).rss_pages * page
            except ProcessGone:
                continue
        return total

    # -- pids, cpuset, io -------------------------------------------------------------------------------

    def _pids(self, place: Place) -> None:
        assert self.req.pids is not None
        self._write(place, "pids.max", str(self.req.pids))

    def _cpuset(self, place: Place) -> None:
        cpus = self.req.cpuset
        assert cpus is not None
        name = "cpuset.cpus" if place.v1 else "cpuset.cpus.effective"
        parent, allowed_text = self._parent_value(place, name)
        allowed = frozenset(cpulist(allowed_text, f"{parent}/{name}"))
        if cpus == MAX:
            value = allowed_text if place.v1 else ""
        else:
            host_cpus = frozenset(read_online(self.host))
            if not cpus <= host_cpus:
                raise InvalidRequest(
                    f"--cpuset {units.cpulist(cpus)}: CPU {min(cpus - host_cpus)} does not exist "
                    f"(this host has {units.cpulist(host_cpus)})"
                )
            if not cpus <= allowed:
                raise InvalidRequest(
                    f"--cpuset {units.cpulist(cpus)} is outside the CPUs {allowed_text} its parent "
                    f"{parent} allows"
                )
            value = units.cpulist(cpus)
        target_file = place.directory / "cpuset.cpus"
        for i, step in enumerate(self.writes):
            if step.path == target_file:  # a new v1 cpuset: set its cpus once, to the value asked
                self.writes[i] = replace(step, value=value)
                return
        self._write(place, "cpuset.cpus", value)

    def _io(self, place: Place) -> None:
        weight = self.req.io_weight
        if weight is not None:
            if place.v1:
                if weight > 1000:
                    raise InvalidRequest(
                        f"--io-weight {weight}: cgroup v1's blkio.bfq.weight takes 1 to 1000"
                    )
                self._write(place, "blkio.bfq.weight", str(weight))
            else:
                self._write(place, "io.weight", f"default {weight}")
        for limit in self.req.io_max:
            kind = block_device(self.host.root, limit.major, limit.minor)
            if kind is None:
                raise InvalidRequest(f"--io-max: no block device {limit.device} on this host (see lsblk)")
            if kind == "partition":
                raise InvalidRequest(
                    f"--io-max: {limit.device} is a partition: io limits apply to a whole disk"
                )
            if (
                place.v1
            ):  # one file per kind of limit; 0 removes a device's limit (cgroup-v1/blkio-controller.rst)
                for key, value in limit.values.items():
                    self._write(place, _V1_THROTTLE[key], f"{limit.device} {0 if value == MAX else value}")
            else:
                pairs = " ".join(f"{key}={value}" for key, value in limit.values.items())
                self._write(place, "io.max", f"{limit.device} {pairs}")


def _quota_first(old_q: int | None, old_p: int, new_q: int | None, new_p: int) -> bool:
    """v1 checks each write against the hierarchy (a child's quota/period may not exceed its parent's):
    write first the file whose intermediate state asks for less CPU."""
    if new_q is None:
        return True  # lifting the limit first never trips a check
    if old_q is None:
        return False  # no limit yet: the period first, then the quota that enforces it
    return new_q / old_p < old_q / new_p


def _v1_bytes(text: str | None, name: str) -> int | Max:
    value = limit_value(text, name) if text is not None else None
    return MAX if value is None else value


def _v1_limit(value: int | Max) -> str:
    return "-1" if value == MAX else str(value)


def _above(a: int | Max, b: int | Max) -> bool:
    """a > b, where MAX is above every number."""
    if a == MAX:
        return b != MAX
    return b != MAX and a > b


def _size(value: int | Max) -> str:
    return MAX if value == MAX else units.size(value)
