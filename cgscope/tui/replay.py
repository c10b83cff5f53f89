"""`cgscope replay`: the dashboard on recorded frames (history/replay.py). The containers view and each
container's detail show the frame at the cursor, the header its time; `[` `]` step one frame, `{` `}`
jump to the events, `t` goes to a time typed. Nothing can be changed: the data is the past."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType

from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot
from cgscope.history import store
from cgscope.history.replay import Replay
from cgscope.history.report import event_line
from cgscope.history.when import BadTime, parse_time
from cgscope.tui.app import CgscopeApp
from cgscope.tui.screens.goto import GotoScreen

READ_ONLY = "replay: recorded data"
FAR = 60.0  # seconds between the time asked for and the nearest frame worth saying


class ReplayApp(CgscopeApp):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "step(-1)", "Back", key_display="[", tooltip="the frame before"),
        Binding("right_square_bracket", "step(1)", "On", key_display="]", tooltip="the next frame"),
        Binding("left_curly_bracket", "event(-1)", "Event", key_display="{", tooltip="the event before"),
        Binding("right_curly_bracket", "event(1)", "Event", key_display="}", tooltip="the next event"),
        Binding("t", "goto", "Time", tooltip="go to a time you type (10 min ago, 03:00, ISO 8601)"),
    ]

    def __init__(self, replay: Replay, *, clock: bool = True) -> None:
        super().__init__(replay, read_only=True, why_read_only=READ_ONLY, clock=clock, replay=replay)
        self.replay = replay

    def on_mount(self) -> None:
        super().on_mount()
        if self.replay.warnings:
            said = self.replay.warnings
            more = f" (and {len(said) - 1} more)" if len(said) > 1 else ""
            self.notify(f"{said[0]}{more}", title="history", severity="warning")

    def _schedule(self) -> None:
        """No timer: a recorded frame changes only when the cursor moves."""

    def action_interval(self, step: int) -> None:
        self.notify("replay: frames show as recorded; [ and ] step through them", title="cgscope")

    def action_step(self, frames: int) -> None:
        if not self.replay.step(frames):
            end = "first" if frames < 0 else "last"
            self.notify(f"the {end} frame recorded", title="replay")
            return
        self._moved()

    def action_event(self, direction: int) -> None:
        if self.replay.next_event(direction) is None:
            where = "after" if direction > 0 else "before"
            self.notify(f"no event recorded {where} this frame", title="replay")
            return
        self._moved()

    def action_goto(self) -> None:
        self.push_screen(GotoScreen(), self._go)

    def _go(self, text: str | None) -> None:
        if not text:
            return
        try:
            at = parse_time(text)
        except BadTime as exc:
            self.notify(str(exc), title="replay", severity="error")
            return
        self.replay.go(at)
        taken = self.replay.times[self.replay.cursor]
        if abs(taken - at) > FAR:
            self.notify(f"no frame then: the nearest is {taken - at:+.0f} s from it", title="replay")
        self._moved()

    def _moved(self) -> None:
        """Show the frame at the cursor, and the events it is the first to show."""
        self.refresh_now()
        events = self.replay.events_shown(self.replay.cursor)
        if events:
            self.notify("\n".join(event_line(e) for e in events), title="recorded events")


def run_replay(root: Path, directory: Path, at: float | None) -> int:
    """Open the dashboard on the frames recorded in `directory`, at the frame nearest to `at` (default:
    the first)."""
    host = HostRoot.at(root)
    host.mode  # noqa: B018 - raises NoCgroups before the screen is taken over
    if not sys.stdout.isatty():
        raise CgscopeError("stdout is not a terminal: `cgscope report` prints recorded data")
    replay = Replay(host, store.index(directory))
    if at is not None:
        replay.go(at)
    app = ReplayApp(replay)
    app.run()
    return app.return_code or 0
