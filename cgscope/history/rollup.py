"""What `cgscope report` sums of each container, kept by the store per UTC minute of frames: a rollup.

A day is 17,280 frames, each ~10 ms to read the figures of. The store writes a rollup of each minute of
frames it stored (history/store.py), and one of each hour of those, once the next minute's (hour's) first
frame comes or the writer closes, into the shard's rollup file; a recorder killed loses the minute and
the hour it was rolling up, and the report reads those frames (minutes) instead. A rollup is used only
when the frames the store holds within its span are exactly as many as it counted (a frame lost, damaged
or written by another writer: its frames are read), so a report reads the same with and without them.
Sums are kept exact (whole hundredths of a percent, whole milliseconds): float sums would differ by the
order they were added in.

A rollup's payload (compressed against the shard's key frame as its other entries are) is two lines of
JSON, the second read only if the rollup is used:

    {"v": 1, "a": [first, last]: the entry times of its frames, "t": [first, last]: their own "t",
     "n": frames}
    [[id, name, runtime, init_pid, frames, first_t, last_t, cpu_peak, [[allowance, CPU % of one CPU in
      hundredths summed], ...], cpu_frames, cpus, wset_peak, wset_peak_percent, limit_bytes,
      throttled_ms], ...]: one per container
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cgscope.errors import CgscopeError
from cgscope.history.fields import bad, integer, items, number, obj, opt_integer, opt_number, text
from cgscope.history.figures import Figures, figures
from cgscope.model.derive import Usage
from cgscope.render.columns.containers import working_set_share
from cgscope.render.views import lifetime

VERSION = 1
WINDOW = 60  # seconds: UTC minutes, so a report from a whole minute to a whole minute reads no frame
HOUR = 3600


@dataclass
class Tally:
    """A container's figures summed over frames."""

    ref: dict[str, Any]  # the container reference: id, name, runtime, init_pid (as last recorded)
    frames: int = 0  # frames it was in, with its usage
    first_at: float | None = None
    last_at: float | None = None
    cpu_peak: float | None = None  # % of its CPU allowance
    cpu_hundredths: dict[float, int] = field(
        default_factory=dict
    )  # CPU % of one CPU in hundredths, by allowance
    cpu_frames: int = 0  # frames with a CPU rate: what the mean is over
    cpus: float | None = None  # the allowance (CPUs) at the last frame
    wset_peak: int | None = None  # bytes
    wset_peak_percent: float | None = None  # of the memory limit at that frame; None: no limit
    limit_bytes: int | None = None  # the memory limit at the frame of the peak
    throttled_ms: int | None = None  # summed over the frames; None: never a CFS quota

    @property
    def cpu_mean(self) -> float | None:
        """The mean % of the allowance (a frame's share is its CPU % over its allowance)."""
        if not self.cpu_frames:
            return None
        return sum(s / 100 / cpus for cpus, s in sorted(self.cpu_hundredths.items())) / self.cpu_frames

    @property
    def throttled_s(self) -> float | None:
        return None if self.throttled_ms is None else self.throttled_ms / 1000

    def add(self, at: float, usage: Usage) -> None:
        self.frames += 1
        self.first_at = at if self.first_at is None else self.first_at
        self.last_at = at
        c, m = usage.cpu, usage.memory
        if c is not None:
            self.cpus = c.limit_cpus
            if c.limit_percent is not None and c.host_percent is not None:
                # recorded to 0.01 (codec.py): a whole number of hundredths
                share = {c.limit_cpus: round(c.host_percent * 100)}
                self._cpu(c.limit_percent, share, 1)
            if c.throttled_seconds is not None:  # recorded to the millisecond
                self._throttled(round(c.throttled_seconds * 1000))
        if m is not None:
            self._wset(m.working_set_bytes, working_set_share(m), m.limit_bytes)

    def merge(self, other: Tally) -> None:
        """Adds the frames `other` summed, which all came after this one's."""
        self.ref = other.ref
        self.frames += other.frames
        self.first_at = other.first_at if self.first_at is None else self.first_at
        self.last_at = other.last_at if other.last_at is not None else self.last_at
        if other.cpu_peak is not None:
            self._cpu(other.cpu_peak, other.cpu_hundredths, other.cpu_frames)
        if other.cpus is not None:
            self.cpus = other.cpus
        if other.throttled_ms is not None:
            self._throttled(other.throttled_ms)
        if other.wset_peak is not None:
            self._wset(other.wset_peak, other.wset_peak_percent, other.limit_bytes)

    def _cpu(self, peak: float, hundredths: dict[float, int], frames: int) -> None:
        self.cpu_peak = max(self.cpu_peak or 0.0, peak)
        for cpus, s in hundredths.items():
            self.cpu_hundredths[cpus] = self.cpu_hundredths.get(cpus, 0) + s
        self.cpu_frames += frames

    def _throttled(self, ms: int) -> None:
        self.throttled_ms = (self.throttled_ms or 0) + ms

    def _wset(self, peak: int, percent: float | None, limit: int | None) -> None:
        if self.wset_peak is None or peak > self.wset_peak:  # the first frame of the peak
            self.wset_peak, self.wset_peak_percent, self.limit_bytes = peak, percent, limit


T = TypeVar("T", bound=Tally)


def fold(into: dict[str, T], f: Figures, make: Callable[[dict[str, Any]], T]) -> None:
    """Adds a frame's figures to each of its containers' tallies."""
    for (cid, name, runtime, init), usage in f.containers:
        ref = {"id": cid, "name": name, "runtime": runtime, "init_pid": init}
        key = lifetime(ref)
        if (tally := into.get(key)) is None:
            tally = into[key] = make(ref)
        tally.ref = ref
        tally.add(f.taken_at, usage)


@dataclass
class Rollup:
    span: tuple[float, float]  # the entry times of its first and last frames
    taken: tuple[float, float]  # their own times (a frame's "t")
    frames: int
    tallies: dict[str, Tally]  # by container lifetime (render/views.lifetime)

    def merge(self, other: Rollup) -> None:
        """Adds the frames of `other`, which all came after this one's."""
        self.span, self.taken = (self.span[0], other.span[1]), (self.taken[0], other.taken[1])
        self.frames += other.frames
        gather(self.tallies, other, Tally)


def gather(into: dict[str, T], r: Rollup, make: Callable[[dict[str, Any]], T]) -> None:
    """Adds a rollup's tallies to each of its containers' tallies."""
    for key, tally in r.tallies.items():
        if (mine := into.get(key)) is None:
            mine = into[key] = make(tally.ref)
        mine.merge(tally)


def encode(r: Rollup) -> bytes:
    rows = [
        [
            t.ref["id"], t.ref["name"], t.ref["runtime"], t.ref["init_pid"], t.frames, t.first_at, t.last_at,
            t.cpu_peak, [list(p) for p in t.cpu_hundredths.items()], t.cpu_frames, t.cpus, t.wset_peak,
            t.wset_peak_percent, t.limit_bytes, t.throttled_ms,
        ]
        for t in r.tallies.values()
    ]  # fmt: skip
    head = {"v": VERSION, "a": list(r.span), "t": list(r.taken), "n": r.frames}
    return b"\n".join(
        json.dumps(x, ensure_ascii=True, separators=(",", ":")).encode("ascii") for x in (head, rows)
    )


@dataclass(frozen=True)
class Head:
    """A rollup as read: its span and count, its tallies read only if it is used (most of a day's minutes
    are not: their hour's rollup is)."""

    span: tuple[float, float]
    taken: tuple[float, float]
    frames: int
    rows: bytes

    def rollup(self) -> Rollup:
        """InvalidFormat when its tallies cannot be read."""
        tallies = {}
        for row in items(_json(self.rows), "c"):
            t = _tally(items(row, "c", 15))
            tallies[lifetime(t.ref)] = t
        return Rollup(self.span, self.taken, self.frames, tallies)


def decode(data: bytes) -> Head:
    """The rollup `data` holds; InvalidFormat for anything else (the report then reads its frames)."""
    head, _, rows = data.partition(b"\n")
    d = obj(_json(head), "rollup")
    if d.get("v") != VERSION:
        bad(f"rollup: version {d.get('v')!r}")
    a0, a1 = (number(x, "a") for x in items(d.get("a"), "a", 2))
    t0, t1 = (number(x, "t") for x in items(d.get("t"), "t", 2))
    return Head((a0, a1), (t0, t1), integer(d.get("n"), "n"), rows)


def _json(data: bytes) -> object:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        bad("rollup: not JSON")


def _tally(row: Any) -> Tally:
    cid, name, runtime, init, frames, first, last, peak, cpu, cpu_frames, cpus, wset, wpct, limit, ms = row
    ref = {"id": text(cid, "c"), "name": text(name, "c"), "runtime": text(runtime, "c")}
    hundredths = {number(x, "c"): integer(s, "c") for x, s in (items(p, "c", 2) for p in items(cpu, "c"))}
    return Tally(
        {**ref, "init_pid": integer(init, "c")}, integer(frames, "c"), number(first, "c"), number(last, "c"),
        opt_number(peak, "c"), hundredths, integer(cpu_frames, "c"), opt_number(cpus, "c"),
        opt_integer(wset, "c"), opt_number(wpct, "c"), opt_integer(limit, "c"), opt_integer(ms, "c"),
    )  # fmt: skip


class _Window:
    """The rollup being made of one minute, or of one hour."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.clear()

    def clear(self) -> None:
        self.number: int | None = None  # the minute or the hour since the epoch, once begun
        self.rollup: Rollup | None = None
        self.broken = False  # a frame of it could not be rolled up: no rollup is stored for it

    def begin(self, at: float) -> None:
        if self.number is None:
            self.number = int(at // self.seconds)

    def ends_before(self, at: float) -> bool:
        return self.number is not None and int(at // self.seconds) != self.number

    def take(self) -> Rollup | None:
        r = None if self.broken else self.rollup
        self.clear()
        return r


class Roller:
    """Rolls up the frames a Writer stores: one rollup per UTC minute, and one per hour of those (a day's
    report reads 24 of them and the minutes of its ends)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forgets what was rolled up so far: its frames are no longer known to be all in the store."""
        self._minute, self._hour = _Window(WINDOW), _Window(HOUR)

    def due(self, at: float) -> list[tuple[float, bytes]]:
        """The rollups to store before a frame at `at`: those of the minute and the hour it ends (each
        its time and its payload)."""
        done = self._end_minute() if self._minute.ends_before(at) else []
        if self._hour.ends_before(at) and (hour := self._hour.take()) is not None:
            done.append(hour)
        return [(r.span[1], encode(r)) for r in done]

    def take(self) -> list[tuple[float, bytes]]:
        """The rollups of the frames added since the last ones (the writer closes)."""
        done = self._end_minute()
        if (hour := self._hour.take()) is not None:
            done.append(hour)
        return [(r.span[1], encode(r)) for r in done]

    def _end_minute(self) -> list[Rollup]:
        broken, minute = self._minute.broken, self._minute.take()
        self._hour.broken |= broken
        if minute is None:
            return []
        hour = self._hour.rollup
        if hour is None:
            hour = self._hour.rollup = Rollup(minute.span, minute.taken, 0, {})
        elif minute.span[0] < hour.span[1]:  # the clock went back to an earlier minute
            self._hour.broken = True
        hour.merge(minute)
        return [minute]

    def add(self, at: float, frame: bytes | Mapping[str, Any]) -> None:
        """A frame the store has just stored (its JSON, or the object read already)."""
        window = self._minute
        window.begin(at)
        self._hour.begin(at)
        if window.broken:
            return
        try:
            f = figures(frame)
        except CgscopeError:  # the report will say it of this frame: its minute is read by frames
            window.broken = True
            return
        r = window.rollup
        if r is None:
            r = window.rollup = Rollup((at, at), (f.taken_at, f.taken_at), 0, {})
        elif at < r.span[1]:  # the clock went back: frames would be summed out of their time order
            window.broken = True
            return
        r.span, r.taken, r.frames = (r.span[0], at), (r.taken[0], f.taken_at), r.frames + 1
        fold(r.tallies, f, Tally)
