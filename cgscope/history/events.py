"""What happened to a container between two frames: the events `cgscope record` stores with the frames.

An OOM kill is told by the container's own counter (memory.events `oom_kill`, v1 memory.oom_control
`oom_kill`: cgroup-v2.rst, cgroup-v1/memory.rst), and its victim by the kernel log: the summary line
names the victim's memory cgroup (fs/kmsg.py), which is the container's or one below it. The counter
moves before the log line is printed (mm/oom_kill.c counts, then logs), so a kill whose line has not come
yet waits one frame for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from cgscope.errors import CgscopeError
from cgscope.fs.kmsg import Kill, parse_kills
from cgscope.model.derive import ContainerUsage
from cgscope.render.views import container_ref, lifetime
from cgscope.sampling.frame import Frame
from cgscope.units import cpulist

KINDS = ("oom_kill", "started", "exited", "limit_changed", "throttled", "memory_pressure")
THROTTLED_PERCENT = 50.0  # of the CFS periods of one frame's interval
PRESSURE_AVG10 = 10.0  # memory PSI "some" avg10: % of the last 10 s with a task stalled on memory


@dataclass(frozen=True)
class Event:
    at: float  # time.time()
    kind: str  # one of KINDS
    container: dict[str, Any]  # the container reference: id, name, runtime, init_pid
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        body = {"at": self.at, "kind": self.kind, "container": self.container, "detail": self.detail}
        return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()

    @staticmethod
    def from_json(data: bytes) -> Event:
        try:
            body = json.loads(data)
            event = Event(float(body["at"]), str(body["kind"]), dict(body["container"]), dict(body["detail"]))
        except (ValueError, TypeError, KeyError) as exc:
            raise CgscopeError(f"a recorded event is not an event ({type(exc).__name__}: {exc})") from None
        if not {"id", "name"} <= event.container.keys():
            raise CgscopeError("a recorded event names no container")
        return event


class Log(Protocol):
    """The kernel log as the detector reads it (fs/kmsg.KernelLog)."""

    error: str | None  # why it cannot be read

    def messages(self) -> list[str]: ...


@dataclass
class _Waiting:
    """OOM kills a container's counter told, whose victims the log has not told yet."""

    ref: dict[str, Any]
    memcg: str | None
    count: int


class Detector:
    """Compares consecutive frames; keeps what one frame cannot tell (kills logged, states entered)."""

    def __init__(
        self,
        log: Log | None = None,
        throttled_percent: float = THROTTLED_PERCENT,
        pressure_avg10: float = PRESSURE_AVG10,
    ) -> None:
        self.log = log
        self.throttled_percent, self.pressure_avg10 = throttled_percent, pressure_avg10
        self._kills: list[tuple[Kill, int]] = []  # logged, not yet matched; with the steps they waited
        self._waiting: dict[str, _Waiting] = {}  # by container id
        self._throttled: set[str] = set()
        self._pressured: set[str] = set()

    def step(self, prev: Frame | None, cur: Frame) -> list[Event]:
        """The events from `prev` to `cur` (none from a first frame: what runs then was there before)."""
        if self.log is not None:
            self._kills.extend((k, 0) for k in parse_kills(self.log.messages()))
        events = self._late_victims(cur.taken_at)
        events += self._lifecycle(prev, cur) if prev is not None else []
        before = prev.container_usage if prev is not None else {}
        for cid, row in cur.container_usage.items():
            was = before.get(cid)
            # a new init under the same id: a restart, or a bare id given again; its counters began anew
            if was is not None and was.watched.container.init_pid == row.watched.container.init_pid:
                events += self._ooms(cur.taken_at, was, row)
                events += _limits(cur.taken_at, was, row)
            events += self._levels(cur.taken_at, row)
        self._kills = [(k, age + 1) for k, age in self._kills if age < 1]
        gone = {cid for cid in self._throttled | self._pressured if cid not in cur.container_usage}
        self._throttled -= gone
        self._pressured -= gone
        return events

    def _lifecycle(self, prev: Frame, cur: Frame) -> list[Event]:
        was = {lifetime(container_ref(c)): c for c in prev.inventory.containers}
        now = {lifetime(container_ref(c)): c for c in cur.inventory.containers}
        started = [Event(cur.taken_at, "started", container_ref(c)) for i, c in now.items() if i not in was]
        exited = [Event(cur.taken_at, "exited", container_ref(c)) for i, c in was.items() if i not in now]
        return started + exited

    def _ooms(self, at: float, was: ContainerUsage, row: ContainerUsage) -> list[Event]:
        before = was.usage.memory.oom_kills if was.usage.memory is not None else None
        after = row.usage.memory.oom_kills if row.usage.memory is not None else None
        ref, memcg = container_ref(row.watched.container), _memcg(row)
        if after is None:  # no counter (v1 before Linux 4.13): the log alone tells the kills
            return [self._kill_event(at, ref, k) for k in self._take(memcg, row, None)]
        if before is None or after <= before:
            return []
        count = after - before
        found = self._take(memcg, row, count)
        events = [self._kill_event(at, ref, k) for k in found]
        missing = count - len(found)
        if missing and self.log is not None and self.log.error is None:
            self._waiting[ref["id"]] = _Waiting(ref, memcg, missing)
        else:
            events += [self._kill_event(at, ref, None) for _ in range(missing)]
        return events

    def _late_victims(self, at: float) -> list[Event]:
        """Kills whose log line did not come by the frame after their counter moved: told as they are."""
        events = []
        for wait in self._waiting.values():
            found = self._take(wait.memcg, None, wait.count)
            events += [self._kill_event(at, wait.ref, k) for k in found]
            events += [self._kill_event(at, wait.ref, None) for _ in range(wait.count - len(found))]
        self._waiting.clear()
        return events

    def _take(self, memcg: str | None, row: ContainerUsage | None, count: int | None) -> list[Kill]:
        """Up to `count` logged kills in the container: its memcg or one below; by member pid where the
        log told no memcg."""
        pids = set(row.watched.container.pids) if row is not None else set()
        taken: list[Kill] = []
        kept: list[tuple[Kill, int]] = []
        for kill, age in self._kills:
            inside = (memcg is not None and kill.memcg is not None and _below(kill.memcg, memcg)) or (
                kill.memcg is None and kill.pid in pids
            )
            if inside and (count is None or len(taken) < count):
                taken.append(kill)
            else:
                kept.append((kill, age))
        self._kills = kept
        return taken

    def _kill_event(self, at: float, ref: dict[str, Any], kill: Kill | None) -> Event:
        if kill is not None:
            return Event(at, "oom_kill", ref, {"victim_pid": kill.pid, "victim_comm": kill.comm})
        return Event(at, "oom_kill", ref, {"victim_pid": None, "victim_comm": None})

    def _levels(self, at: float, row: ContainerUsage) -> list[Event]:
        """Throttling and memory pressure, told when they rise above their thresholds (once until they
        fall below again)."""
        events = []
        cid, ref = row.watched.container.id, container_ref(row.watched.container)
        cpu = row.usage.cpu
        throttled = cpu.throttled_percent if cpu is not None else None
        if throttled is not None and _entered(self._throttled, cid, throttled > self.throttled_percent):
            events.append(Event(at, "throttled", ref, {"percent": round(throttled, 1)}))
        memory = row.usage.pressure.get("memory")
        if memory is not None:
            some = memory.some.avg10
            if _entered(self._pressured, cid, some > self.pressure_avg10):
                events.append(Event(at, "memory_pressure", ref, {"some_avg10": some}))
        return events


def _entered(inside: set[str], cid: str, above: bool) -> bool:
    """Whether `cid` goes above now; `inside` holds those above."""
    if not above:
        inside.discard(cid)
        return False
    if cid in inside:
        return False
    inside.add(cid)
    return True


def _memcg(row: ContainerUsage) -> str | None:
    """The container's memory cgroup path, as the kernel log names memcgs."""
    where = row.watched.dirs.memory
    return where.mount.cgroup_path(where.directory) if where is not None else None


def _below(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor.rstrip("/") + "/")


def _limits(at: float, was: ContainerUsage, row: ContainerUsage) -> list[Event]:
    """A limit whose value changed, by cgscope or anyone: the CFS quota, the cpuset, the memory limit,
    the pids limit (the smallest on the path to the root, as the kernel applies them)."""
    dirs, ref = row.watched.dirs, container_ref(row.watched.container)
    v2 = {
        "cpu": dirs.cpu is not None and dirs.cpu.version == 2,
        "cpuset": dirs.cpuset is not None and dirs.cpuset.version == 2,
        "memory": dirs.memory is not None and dirs.memory.version == 2,
    }
    old_cpu, new_cpu = was.usage.cpu, row.usage.cpu
    old_mem, new_mem = was.usage.memory, row.usage.memory
    old_pids, new_pids = was.usage.pids, row.usage.pids
    pairs: list[tuple[str, object, object]] = []
    if old_cpu is not None and new_cpu is not None:
        pairs.append(("cpu.max" if v2["cpu"] else "cpu.cfs_quota_us", old_cpu.quota_cpus, new_cpu.quota_cpus))
        cpuset = "cpuset.cpus.effective" if v2["cpuset"] else "cpuset.cpus"
        pairs.append((cpuset, old_cpu.cpuset, new_cpu.cpuset))
    if old_mem is not None and new_mem is not None:
        name = "memory.max" if v2["memory"] else "memory.limit_in_bytes"
        pairs.append((name, old_mem.limit_bytes, new_mem.limit_bytes))
    if old_pids is not None and new_pids is not None:
        pairs.append(("pids.max", old_pids.max, new_pids.max))
    return [
        Event(at, "limit_changed", ref, {"file": name, "old": _shown(old), "new": _shown(new)})
        for name, old, new in pairs
        if old != new
    ]


def _shown(value: object) -> object:
    """A limit as JSON: a number, a CPU list ("0-3,6": compared as the CPUs' tuple, written only for an
    event), "max" for none."""
    if isinstance(value, tuple):
        return cpulist(value)
    return "max" if value is None else value
