"""The dashboard's header: which host, which kernel and cgroup mode, how busy, and how it is watched."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label

from cgscope.errors import CgscopeError
from cgscope.history.replay import Replay
from cgscope.model.derive import MemoryUsage
from cgscope.render.columns import UNKNOWN
from cgscope.render.table import visible
from cgscope.sampling import Frame
from cgscope.tui.widgets.steady import put
from cgscope.units import size


def human_uptime(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def interval_text(seconds: float) -> str:
    return f"{seconds:g} s"


def host_line(frame: Frame | None, mode: str) -> str:
    if frame is None:
        return f"cgroup {mode} · reading…"
    cpus = frame.system.cpus
    return " · ".join(
        [frame.hostname, frame.kernel, f"cgroup {mode}", f"{cpus if cpus is not None else UNKNOWN} CPUs"]
    )


def memory_text(memory: MemoryUsage | None) -> str:
    """The host's memory as its row in the containers view shows it: the working set (in use, less the
    page cache the kernel reclaims first) of the total."""
    if memory is None or memory.limit_bytes is None:
        return f"mem (wset) {UNKNOWN}"
    return f"mem (wset) {size(memory.working_set_bytes)}/{size(memory.limit_bytes)}"


def stats_line(
    frame: Frame | None, interval: float, taken_at: float | None, replay: Replay | None = None
) -> str:
    """Load, memory and uptime, then how often it refreshes and when it last did; in a replay, REPLAY and
    when the frame shown was recorded come first, and nothing refreshes."""
    parts = []
    if replay is not None:  # first: a narrow terminal cuts the end of the line
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(frame.taken_at)) if frame else "reading…"
        parts.append(f"REPLAY {when}" + (f" · {replay.position(frame)}" if frame is not None else ""))
    if frame is not None:
        system = frame.system
        load = " ".join(f"{x:.2f}" for x in system.load) if system.load else UNKNOWN
        uptime = human_uptime(system.uptime_s) if system.uptime_s is not None else UNKNOWN
        memory = frame.usage.memory if frame.usage is not None else None
        parts += [f"load {load}", memory_text(memory), f"up {uptime}"]
    if replay is not None:
        return " · ".join(parts)
    parts.append(f"every {interval_text(interval)}")
    if taken_at is not None:
        parts.append(time.strftime("%H:%M:%S", time.localtime(taken_at)))
    return " · ".join(parts)


def failure_line(error: BaseException) -> str:
    """One line of what made a refresh fail: the message of an expected failure (naming the file), the
    file and the OS's words for an errno, the kind and message of anything else."""
    if isinstance(error, CgscopeError):
        said = str(error)
    elif isinstance(error, OSError) and error.strerror:
        said = f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    else:
        said = f"{type(error).__name__}: {error}"
    return f"refresh failed: {said}"


class HostHeader(Widget):
    """Two lines: the host (and a READ-ONLY mark), then load, memory, uptime and the refresh interval;
    a third, while refreshes fail, says why (failure_line).

    `clock` adds the time of the last refresh; tests leave it out so screenshots do not change. A replay
    (`replay`) shows the recorded frame's time, whatever `clock` says: it is the data, not the clock.
    """

    read_only: reactive[bool] = reactive(False)
    interval: reactive[float] = reactive(2.0)

    def __init__(self, mode: str, *, clock: bool = True, replay: Replay | None = None) -> None:
        super().__init__()
        self.mode = mode
        self.clock = clock
        self.replay = replay
        self.frame: Frame | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="host-row"):
            yield Label("cgscope", id="brand")
            yield Label(host_line(None, self.mode), id="host", markup=False)
            yield Label("READ-ONLY", id="read-only")
        yield Label(stats_line(None, self.interval, None, self.replay), id="stats", markup=False)
        yield Label("", id="failure", markup=False)

    def show_failure(self, line: str | None) -> None:
        """Why the last refresh failed (the figures above are the last that succeeded), the host's
        characters in it made visible; None: it did not fail."""
        put(self.query_one("#failure", Label), visible(line or ""))
        self.set_class(line is not None, "-failed")

    def show(self, frame: Frame) -> None:
        self.frame = frame
        put(self.query_one("#host", Label), visible(host_line(frame, self.mode)))
        self._update_stats()

    def watch_read_only(self, read_only: bool) -> None:
        self.set_class(read_only, "-read-only")

    def watch_interval(self) -> None:
        if self.is_mounted:
            self._update_stats()

    def _update_stats(self) -> None:
        frame = self.frame
        taken = frame.taken_at if frame is not None and self.clock else None
        put(self.query_one("#stats", Label), stats_line(frame, self.interval, taken, self.replay))
