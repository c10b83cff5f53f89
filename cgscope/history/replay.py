"""Recorded frames as the dashboard's source (`cgscope replay`): `sample` answers with the frame at the
cursor, as a Sampler answers with the host now; the cursor steps by frames, jumps to events or to a
time. A day holds thousands of frames: the store is read without decompressing them (history/index.py),
each is decompressed and decoded when shown (the last few kept), and a sparkline reads only the two
figures it draws from each frame before the cursor."""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass

from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot
from cgscope.history import codec, figures
from cgscope.history.events import Event
from cgscope.history.store import Index
from cgscope.sampling.frame import Frame, Need

KEPT = 16  # decoded frames kept: stepping back and forth decodes each once
NOT_RECORDED = frozenset({Need.PROCESSES, Need.TREES})  # what a recorded frame never holds


@dataclass(frozen=True)
class Series:
    """A container's figures over the frames up to one: for its sparklines."""

    cpu: list[float]  # % of one CPU
    working_set: list[float]  # bytes
    span_s: float  # from the first of those frames to the last


class Replay:
    """The frames and events of a store's reading, and a cursor on the frames."""

    def __init__(self, host: HostRoot, reading: Index) -> None:
        self.host = host
        self.entries = [e for e in reading.entries if e.kind == "frame"]
        if not self.entries:
            raise CgscopeError("the history holds no frame in the time asked for")
        self.times = [e.at for e in self.entries]
        self.warnings = list(reading.warnings)
        self.events: list[Event] = []
        for e in reading.entries:
            if e.kind == "event":
                try:
                    self.events.append(Event.from_json(e.payload))
                except CgscopeError as exc:
                    self.warnings.append(f"an event skipped: {exc}")
        self.event_times = [e.at for e in self.events]
        self.cursor = 0
        self._frames: OrderedDict[int, Frame] = OrderedDict()
        self._points: dict[int, dict[str | None, tuple[float | None, int | None]]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    # -- the source's protocol (sampling.Sampler's) ------------------------------------------------------

    def sample(self, needs: Collection[Need], focus: str | None = None) -> Frame:
        """The frame at the cursor; with `focus`, the figures of its sparklines read meanwhile (this runs
        in the dashboard's worker thread)."""
        frame = self.frame(self.cursor)
        if focus is not None:
            self.series(focus, frame)
        return frame

    def limits_changed(self) -> None:
        """Nothing to read again: a replay changes nothing (the dashboard is read-only over one)."""

    def frame(self, index: int) -> Frame:
        found = self._frames.get(index)
        if found is None:
            found = codec.decode(self.entries[index].frame)
            self._frames[index] = found
            while len(self._frames) > KEPT:
                self._frames.popitem(last=False)
        self._frames.move_to_end(index)
        return found

    # -- the cursor --------------------------------------------------------------------------------------

    def index_of(self, frame: Frame) -> int:
        return self.nearest(frame.taken_at)

    def nearest(self, at: float) -> int:
        """The frame taken nearest to `at`."""
        i = bisect.bisect_left(self.times, at)
        if i == 0:
            return 0
        if i == len(self.times):
            return i - 1
        return i - 1 if at - self.times[i - 1] <= self.times[i] - at else i

    def step(self, frames: int) -> bool:
        """Moves the cursor `frames` on (back when negative); False when it is at that end already."""
        to = min(max(self.cursor + frames, 0), len(self.entries) - 1)
        moved, self.cursor = to != self.cursor, to
        return moved

    def go(self, at: float) -> None:
        self.cursor = self.nearest(at)

    def next_event(self, direction: int) -> Event | None:
        """Moves the cursor to the frame that first shows the next event after it (direction 1) or the
        last event before it (-1); None, cursor unmoved, when there is none."""
        now = self.times[self.cursor]
        if direction > 0:
            i = bisect.bisect_right(self.event_times, now)
            event = self.events[i] if i < len(self.events) else None
        else:
            i = bisect.bisect_right(self.event_times, self._shown_since(self.cursor)) - 1
            event = self.events[i] if i >= 0 else None
        if event is not None:
            self.cursor = min(bisect.bisect_left(self.times, event.at), len(self.times) - 1)
        return event

    def _shown_since(self, index: int) -> float:
        """Events after the frame before `index`, up to its own time, are what frame `index` shows first."""
        return self.times[index - 1] if index > 0 else float("-inf")

    def events_shown(self, index: int) -> list[Event]:
        """The events frame `index` is the first to show."""
        lo = bisect.bisect_right(self.event_times, self._shown_since(index))
        hi = bisect.bisect_right(self.event_times, self.times[index])
        return self.events[lo:hi]

    def position(self, frame: Frame) -> str:
        return f"frame {self.index_of(frame) + 1}/{len(self.entries)}"

    # -- sparklines --------------------------------------------------------------------------------------

    def series(self, key: str | None, frame: Frame, frames: int = 300) -> Series:
        """Container `key`'s (None: the host's) CPU and working set in the `frames` frames up to `frame`;
        a frame it was not in, or that cannot be read, is left out."""
        end = self.index_of(frame) + 1
        start = max(0, end - frames)
        cpu: list[float] = []
        wset: list[float] = []
        for i in range(start, end):
            host, used = self._figures(i).get(key, (None, None))
            if host is not None:
                cpu.append(host)
            if used is not None:
                wset.append(float(used))
        return Series(cpu, wset, self.times[end - 1] - self.times[start])

    def _figures(self, index: int) -> dict[str | None, tuple[float | None, int | None]]:
        found = self._points.get(index)
        if found is None:
            try:
                found = figures.points(self.entries[index].frame)
            except CgscopeError:
                found = {}
            self._points[index] = found
        return found
