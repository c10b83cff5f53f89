"""What happened to each container over a stretch of history (`cgscope report`): its peak and mean CPU
against its allowance, its peak working set against its memory limit, the time it spent throttled, its
OOM kills with their victims, and every event recorded. Each frame's figures are read without its
inventory (history/figures.py), and where the store rolled a minute or an hour of frames up
(history/rollup.py), the rollup is read instead of those frames."""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from cgscope.errors import CgscopeError, NotFound
from cgscope.history.events import Event
from cgscope.history.figures import figures
from cgscope.history.index import Stored
from cgscope.history.rollup import Head, Tally, fold, gather
from cgscope.history.store import Index
from cgscope.render.views import lifetime
from cgscope.units import size


@dataclass
class ContainerSummary(Tally):
    oom_kills: list[Event] = field(default_factory=list)


@dataclass
class Summary:
    first_at: float | None  # the first and last frame read
    last_at: float | None
    frames: int
    containers: list[ContainerSummary]  # by name
    events: list[Event]  # in time order
    warnings: list[str]  # one line each: what of the store could not be read


def summarize(reading: Index, container: str | None = None) -> Summary:
    """The report of a reading; `container` (a name, an id or its unique start) keeps that one only. A
    rollup stands for the frames of its span (history/rollup.py): the same sums, without reading them."""
    warnings = list(reading.warnings)
    by_life: dict[str, ContainerSummary] = {}
    events: list[Event] = []
    frames, first_at, last_at = 0, None, None
    for item in _plan(reading):
        if isinstance(item, Head):
            try:
                gather(by_life, item.rollup(), ContainerSummary)
            except CgscopeError as exc:
                warnings.append(
                    f"the rollup of {stamp(item.span[0])} to {stamp(item.span[1])} skipped: {exc}"
                )
                continue
            taken, frames = item.taken, frames + item.frames
        else:
            try:
                if item.kind != "frame":
                    events.append(Event.from_json(item.payload))
                    continue
                f = figures(item.frame)
            except CgscopeError as exc:
                warnings.append(f"an entry at {stamp(item.at)} skipped: {exc}")
                continue
            fold(by_life, f, ContainerSummary)
            taken, frames = (f.taken_at, f.taken_at), frames + 1
        first_at = taken[0] if first_at is None else first_at
        last_at = taken[1]
    for e in events:
        summary = by_life.setdefault(lifetime(e.container), ContainerSummary(dict(e.container)))
        if e.kind == "oom_kill":
            summary.oom_kills.append(e)
    kept = _matching(container, by_life.values()) if container is not None else None  # ids; None: all
    return Summary(
        first_at,
        last_at,
        frames,
        sorted(
            (s for s in by_life.values() if kept is None or s.ref["id"] in kept),
            key=lambda s: (s.ref["name"], s.ref["id"], s.ref["init_pid"]),
        ),
        [e for e in events if kept is None or e.container["id"] in kept],
        warnings,
    )


def _plan(reading: Index) -> Iterator[Stored | Head]:
    """The entries in time order, rollups in place of the frames of their spans, the hour's before its
    minutes'. A rollup is taken when the store holds as many frames within its span as it counted, and no
    other (none lost, none added), so no two taken share a frame."""
    times = [e.at for e in reading.entries if e.kind == "frame"]
    taken, covered = [], float("-inf")
    for r in sorted(reading.rollups, key=lambda r: (r.span[0], -r.span[1])):
        counted = bisect_right(times, r.span[1]) - bisect_left(times, r.span[0])
        if r.span[0] > covered and r.frames > 0 and counted == r.frames:
            taken.append(r)
            covered = r.span[1]
    rollups = iter(taken)
    nxt, covered = next(rollups, None), float("-inf")
    for e in reading.entries:
        if e.kind == "frame" and nxt is not None and e.at >= nxt.span[0]:
            yield nxt
            covered, nxt = nxt.span[1], next(rollups, None)
        elif not (e.kind == "frame" and e.at <= covered):
            yield e


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
