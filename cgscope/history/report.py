"""What happened to each container over a stretch of history (`cgscope report`): its peak and mean CPU
against its allowance, its peak working set against its memory limit, the time it spent throttled, its
OOM kills with their victims, and every event recorded. Each frame's figures are read without its
inventory (history/figures.py): a report reads thousands."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cgscope.errors import CgscopeError, NotFound
from cgscope.history.events import Event
from cgscope.history.figures import Figures, figures
from cgscope.history.store import Reading
from cgscope.model.derive import Usage
from cgscope.render.columns.containers import working_set_share
from cgscope.units import size


@dataclass
class ContainerSummary:
    ref: dict[str, Any]  # the container reference: id, name, runtime, init_pid (as last recorded)
    frames: int = 0  # frames it was in, with its usage
    first_at: float | None = None
    last_at: float | None = None
    cpu_peak: float | None = None  # % of its CPU allowance
    cpu_sum: float = 0.0
    cpu_frames: int = 0  # frames with a CPU rate: what the mean is over
    cpus: float | None = None  # the allowance (CPUs) at the last frame
    wset_peak: int | None = None  # bytes
    wset_peak_percent: float | None = None  # of the memory limit at that frame; None: no limit
    limit_bytes: int | None = None  # the memory limit at the frame of the peak
    throttled_s: float | None = None  # summed over the frames; None: never a CFS quota
    oom_kills: list[Event] = field(default_factory=list)

    @property
    def cpu_mean(self) -> float | None:
        return self.cpu_sum / self.cpu_frames if self.cpu_frames else None

    def add(self, at: float, usage: Usage) -> None:
        self.frames += 1
        self.first_at = at if self.first_at is None else self.first_at
        self.last_at = at
        c, m = usage.cpu, usage.memory
        if c is not None:
            self.cpus = c.limit_cpus
            if c.limit_percent is not None:
                self.cpu_sum += c.limit_percent
                self.cpu_frames += 1
                self.cpu_peak = max(self.cpu_peak or 0.0, c.limit_percent)
            if c.throttled_seconds is not None:
                self.throttled_s = (self.throttled_s or 0.0) + c.throttled_seconds
        if m is not None and (self.wset_peak is None or m.working_set_bytes > self.wset_peak):
            self.wset_peak, self.limit_bytes = m.working_set_bytes, m.limit_bytes
            self.wset_peak_percent = working_set_share(m)


@dataclass
class Summary:
    first_at: float | None  # the first and last frame read
    last_at: float | None
    frames: int
    containers: list[ContainerSummary]  # by name
    events: list[Event]  # in time order
    warnings: list[str]  # one line each: what of the store could not be read


def summarize(reading: Reading, container: str | None = None) -> Summary:
    """The report of a reading; `container` (a name, an id or its unique start) keeps that one only."""
    warnings = list(reading.warnings)
    read: list[Figures] = []
    events: list[Event] = []
    for entry in reading.entries:
        try:
            if entry.kind == "frame":
                read.append(figures(entry.payload))
            else:
                events.append(Event.from_json(entry.payload))
        except CgscopeError as exc:
            warnings.append(f"an entry at {stamp(entry.at)} skipped: {exc}")
    by_id: dict[str, ContainerSummary] = {}
    for f in read:
        for (cid, name, runtime, init), usage in f.containers:
            ref = {"id": cid, "name": name, "runtime": runtime, "init_pid": init}
            summary = by_id.setdefault(cid, ContainerSummary(ref))
            summary.ref = ref
            summary.add(f.taken_at, usage)
    for e in events:
        summary = by_id.setdefault(str(e.container["id"]), ContainerSummary(dict(e.container)))
        if e.kind == "oom_kill":
            summary.oom_kills.append(e)
    kept = _matching(container, by_id.values()) if container is not None else set(by_id)
    return Summary(
        read[0].taken_at if read else None,
        read[-1].taken_at if read else None,
        len(read),
        sorted(
            (s for s in by_id.values() if s.ref["id"] in kept), key=lambda s: (s.ref["name"], s.ref["id"])
        ),
        [e for e in events if e.container["id"] in kept],
        warnings,
    )


def _matching(ref: str, seen: Iterable[ContainerSummary]) -> set[str]:
    """The ids `ref` names: every container recorded under that name (one made again has a new id), else
    the one of that id, else the one whose id starts so."""
    seen = list(seen)
    for key in ("name", "id"):
        found = {s.ref["id"] for s in seen if s.ref[key] == ref}
        if found:
            return found
    found = {s.ref["id"] for s in seen if str(s.ref["id"]).startswith(ref)}
    if len(found) == 1:
        return found
    if found:
        raise NotFound(f"{ref!r} starts the ids of {len(found)} recorded containers: give more of it")
    raise NotFound(f"no container named {ref!r} was recorded then: give a name, an id or its start")


def stamp(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def event_line(e: Event) -> str:
    """One line: when, what, which container, and what the event says."""
    said = event_detail(e)
    return f"{stamp(e.at)} {e.kind} {e.container.get('name', '?')}" + (f": {said}" if said else "")


def event_detail(e: Event) -> str:
    d = e.detail
    if e.kind == "oom_kill":
        pid, comm = d.get("victim_pid"), d.get("victim_comm")
        return f"killed {pid} ({comm})" if pid is not None else "the victim is unknown (no kernel log read)"
    if e.kind == "limit_changed":
        return (
            f"{d.get('file')} {_limit(d.get('file'), d.get('old'))} -> {_limit(d.get('file'), d.get('new'))}"
        )
    if e.kind == "throttled":
        return f"throttled in {d.get('percent')} % of its CPU periods"
    if e.kind == "memory_pressure":
        return f"memory pressure: some avg10 {d.get('some_avg10')} %"
    return ""


def _limit(name: object, value: object) -> str:
    """A limit as a person reads it: memory in bytes with a unit, the rest as recorded."""
    if isinstance(value, int) and str(name).startswith("memory"):
        return size(value)
    return str(value)
