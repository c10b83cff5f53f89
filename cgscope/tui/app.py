"""`cgscope` with no command: the dashboard. A worker thread reads one Frame per refresh and posts it;
the UI thread only draws (it never opens a kernel file). Changes go through the control layer
(tui/actions.py): a form shows the plan, and a worker applies what the user confirmed."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, SuspendNotSupported, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from cgscope.errors import CgscopeError
from cgscope.fs.hostroot import HostRoot
from cgscope.history.replay import Replay
from cgscope.render.control import undone_lines
from cgscope.render.table import visible
from cgscope.sampling import Frame, Need, Sampler
from cgscope.sampling.grouping import REGROUP_SECONDS
from cgscope.tui.actions import Controls, Selection
from cgscope.tui.screens.base import ROW_KEYS, DataScreen
from cgscope.tui.screens.change import (
    ChangeScreen,
    FreezeScreen,
    KillScreen,
    LimitScreen,
    MoveScreen,
    Proposal,
    UndoChoice,
    UndoScreen,
)
from cgscope.tui.screens.containers import ContainersScreen
from cgscope.tui.screens.help import HelpScreen
from cgscope.tui.screens.namespaces import NamespacesScreen
from cgscope.tui.screens.processes import ProcessesScreen
from cgscope.tui.screens.tree import TreeScreen
from cgscope.tui.session import Session
from cgscope.tui.widgets.header import failure_line
from cgscope.tui.widgets.views import VIEWS

# The command palette's entries: (title, what it does, action), cgscope's actions first.
PALETTE = (
    ("limit…", "limit the selected container or process: CPU, memory, pids, cpuset (l)", "limit"),
    ("move…", "move the selected process into another cgroup (m)", "move"),
    ("freeze", "freeze the selected container, or thaw it if it is frozen (f)", "freeze"),
    ("shell inside", "a shell in the selected container's namespaces; exit comes back (e)", "nsenter"),
    ("kill…", "send a signal to the selected process, or a container's init (k)", "kill"),
    ("undo", "undo the last change still in effect (u)", "undo"),
    *(
        (f"view: {name}", f"{label[2:].lower()} ({label[0]})", f"switch_mode('{name}')")
        for name, label in VIEWS
    ),
    ("keys", "every key that works here (?)", "help"),
    ("refresh now", "read the host again now (r)", "refresh_now"),
    ("refresh less often", "the next step of 0.5, 1, 2, 3, 5, 10, 30 s (+)", "interval(1)"),
    ("refresh more often", "the step before (-)", "interval(-1)"),
)
INTERVALS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)  # the steps of + and -
DEFAULT_INTERVAL = 2.0
# Limits (a third of a refresh's reads) are read again once this old and after a change made here.
LIMITS_SECONDS = 5.0
VIEW_SCREENS: dict[str, type[DataScreen]] = {
    "containers": ContainersScreen,
    "tree": TreeScreen,
    "namespaces": NamespacesScreen,
    "processes": ProcessesScreen,
}


@dataclass
class Sampled(Message):
    frame: Frame


@dataclass
class SampleFailed(Message):
    error: str  # one line: what failed, as the CLI would say it


class CgscopeApp(App[int]):
    CSS_PATH = "cgscope.tcss"
    TITLE = "cgscope"
    # The change keys the screens show where they apply (screens/base.py ROW_KEYS); these, hidden, say
    # why nothing happens elsewhere. Undo applies to the journal, whatever is selected.
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(key, action, label, show=False, tooltip=what) for key, action, label, what in ROW_KEYS),
        Binding("u", "undo", "Undo", tooltip="undo the last change still in effect (cgscope undo)"),
        Binding("question_mark", "help", "Keys", key_display="?", tooltip="every key that works here"),
        Binding("q", "quit", "Quit", tooltip="quit (exit status 0)"),
        *(
            Binding(str(i), f"switch_mode('{name}')", label, show=False, tooltip=f"the {name} view")
            for i, (name, label) in enumerate(VIEWS, 1)
        ),
        Binding("plus", "interval(1)", "Slower", key_display="+", show=False, tooltip="refresh less often"),
        Binding("minus", "interval(-1)", "Faster", key_display="-", show=False, tooltip="refresh more often"),
        Binding("r", "refresh_now", "Refresh", show=False, tooltip="refresh now"),
    ]

    interval: reactive[float] = reactive(DEFAULT_INTERVAL, init=False)

    def __init__(
        self,
        sampler: Sampler | Replay,
        *,
        interval: float = DEFAULT_INTERVAL,
        read_only: bool = False,
        why_read_only: str = "started with --read-only",
        clock: bool = True,
        controls: Controls | None = None,
        replay: Replay | None = None,
    ) -> None:
        """`replay`: recorded frames, `sampler` among them (cgscope/tui/replay.py)."""
        super().__init__()
        self.sampler = sampler
        self.session = Session(sampler.host, read_only, clock, replay)
        self.why_read_only = why_read_only  # said when a change key is pressed
        self.controls = controls if controls is not None else Controls(sampler.host)
        self.frame: Frame | None = None
        self.failure: str | None = None  # why the last refresh failed, while the next has not succeeded
        for mode, screen in VIEW_SCREENS.items():
            self.add_mode(mode, partial(screen, self.session))
        self._timer: Timer | None = None
        self._sampling = False  # a worker is reading a Frame
        self._again = False  # a refresh was asked for meanwhile
        self.set_reactive(CgscopeApp.interval, interval)

    @property
    def host(self) -> HostRoot:
        return self.sampler.host

    @property
    def read_only(self) -> bool:
        return self.session.read_only

    def on_mount(self) -> None:
        self.switch_mode("containers")  # its screen asks for the first refresh

    def watch_interval(self) -> None:
        if not self._sampling:
            self._schedule()
        if isinstance(self.screen, DataScreen):
            self.screen.sync_header(self.interval)

    def on_data_screen_resumed(self, message: DataScreen.Resumed) -> None:
        """A screen back in view gets the interval and the latest Frame, and a refresh if that Frame
        lacks what it shows."""
        screen = message.data_screen
        screen.sync_header(self.interval)
        screen.show_failure(self.failure)
        frame = self.frame
        if frame is not None and frame is not screen.drawn:
            screen.show(frame)
        if frame is None or not screen.complete(frame):
            self.refresh_now()

    def _schedule(self) -> None:
        """The next refresh comes `interval` after the last one ended, as top's delay: a host where
        reading takes long is refreshed less often rather than read without a pause."""
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.interval, self.refresh_now)

    def action_interval(self, step: int) -> None:
        bigger = [s for s in INTERVALS if s > self.interval]
        smaller = [s for s in INTERVALS if s < self.interval]
        if step > 0 and bigger:
            self.interval = bigger[0]
        elif step < 0 and smaller:
            self.interval = smaller[-1]

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p): every action of cgscope by name, then Textual's own."""
        for title, what, action in PALETTE:
            yield SystemCommand(title, what, partial(self.run_action, action))
        yield from super().get_system_commands(screen)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_refresh_now(self) -> None:
        self.refresh_now()

    def needs(self) -> frozenset[Need]:
        """What the screens of the current view show: the next Frame holds it."""
        out: frozenset[Need] = frozenset()
        for screen in self.screen_stack:
            if isinstance(screen, DataScreen):
                out |= screen.needs()
        return out

    def refresh_now(self) -> None:
        """Read a Frame now, or as soon as the one being read arrives."""
        if self._sampling:
            self._again = True
            return
        if self._timer is not None:
            self._timer.stop()
        self._sampling = True
        self.sample(self.needs(), self.detail_key())

    def detail_key(self) -> str | None:
        """The container whose detail is open, if any: the next Frame holds its Detail."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, DataScreen) and screen.detail_key() is not None:
                return screen.detail_key()
        return None

    @work(thread=True, exclusive=True, group="sample", exit_on_error=False)
    def sample(self, needs: frozenset[Need], focus: str | None) -> None:
        self.post_message(Sampled(self.sampler.sample(needs, focus)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A refresh that raised, whatever it raised (a malformed kernel file, an errno nothing expects):
        the last Frame stays on screen, the header says why, and the next refresh tries again."""
        error = event.worker.error
        if event.worker.group == "sample" and event.state == WorkerState.ERROR and error is not None:
            self.post_message(SampleFailed(failure_line(error)))

    def on_sampled(self, message: Sampled) -> None:
        self._finished()
        self.frame = message.frame
        self.failure = None
        if isinstance(self.screen, DataScreen):
            self.screen.show(message.frame)
            self.screen.show_failure(None)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A notification whose text is data (names, paths, errors from the host): never markup, and
        each line's control characters made visible (render/table.visible). A message of one line that
        may hold a newline of the host's (an error's) is made visible whole by the caller."""
        if not markup:
            message = "\n".join(visible(line) for line in message.split("\n"))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_sample_failed(self, message: SampleFailed) -> None:
        self._finished()
        self.failure = message.error
        if isinstance(self.screen, DataScreen):
            self.screen.show_failure(message.error)

    # -- changes, through the control layer --------------------------------------------------------

    def _selection(self, what: str, *, process: bool = False) -> Selection | None:
        """What the screen on top has selected, or None after saying why nothing may be changed."""
        if self.read_only:
            self.notify(
                f"read-only ({self.why_read_only}): {what} is off", title="cgscope", severity="warning"
            )
            return None
        screen = self.screen
        if isinstance(screen, ChangeScreen):
            return None
        selected = screen.selection(process=process) if isinstance(screen, DataScreen) else None
        if selected is None:
            hint = (
                "select a process (view 4, or a container's Processes pane)"
                if process
                else "select a container or a process (the host itself is not one)"
            )
            self.notify(f"{what}: {hint}", title="cgscope", severity="warning")
        return selected

    def action_limit(self) -> None:
        selected = self._selection("limit")
        if selected is not None:
            self.push_screen(LimitScreen(self.controls, selected), self._confirmed)

    def action_move(self) -> None:
        selected = self._selection("move", process=True)
        if selected is not None:
            self.push_screen(MoveScreen(self.controls, selected), self._confirmed)

    def action_freeze(self) -> None:
        selected = self._selection("freeze")
        if selected is not None:
            self.push_screen(FreezeScreen(self.controls, selected), self._confirmed)

    def action_kill(self) -> None:
        """A signal to the selected process; on a container, to its init."""
        screen = self.screen
        on_process = isinstance(screen, DataScreen) and screen.selection(process=True) is not None
        selected = self._selection("a signal", process=on_process)
        if selected is not None:
            self.push_screen(KillScreen(self.controls, selected), self._confirmed)

    def _confirmed(self, proposal: Proposal | None) -> None:
        if proposal is not None:
            self.carry_out(proposal)

    @work(thread=True, group="change")
    def carry_out(self, proposal: Proposal) -> None:
        """Apply a confirmed plan (a freeze waits for the kernel: not on the UI thread)."""
        plan = proposal.plan
        try:
            change = self.controls.apply(plan, proposal.command)
        except CgscopeError as exc:
            self.call_from_thread(self.notify, visible(str(exc)), title="cgscope", severity="error")
            return
        self.sampler.limits_changed()
        said = f"change {change.id}: " if change is not None else "nothing to change: "
        self.call_from_thread(
            self.notify, f"{said}{plan.action} {plan.target} (u undoes it)", title="cgscope"
        )
        self.call_from_thread(self.refresh_now)

    def action_undo(self) -> None:
        """Preview the undo of the last change in effect; undo it once the user applies."""
        if self.read_only:
            self.notify(f"read-only ({self.why_read_only}): undo is off", title="cgscope", severity="warning")
        elif not isinstance(self.screen, ChangeScreen):
            self.push_screen(UndoScreen(self.controls, None), self._undo_confirmed)

    def _undo_confirmed(self, choice: UndoChoice | None) -> None:
        if choice is not None:
            self.undo_change(choice)

    @work(thread=True, group="change")
    def undo_change(self, choice: UndoChoice) -> None:
        try:
            undone = self.controls.undo(choice.change_id)
        except CgscopeError as exc:
            self.call_from_thread(self.notify, visible(str(exc)), title="cgscope", severity="error")
            return
        self.sampler.limits_changed()
        self.call_from_thread(self.notify, "\n".join(undone_lines(undone)), title="cgscope")
        self.call_from_thread(self.refresh_now)

    def action_nsenter(self) -> None:
        """Suspend the dashboard, run a shell in the selected container's namespaces, resume after."""
        selected = self._selection("a shell inside")
        if selected is None:
            return
        from cgscope.control import nsenter

        host = self.controls.host
        try:
            entry = nsenter.prepare(host, selected.pid)
            with self.suspend():
                shown = visible(selected.label)
                print(f"cgscope: a shell in {shown}'s namespaces; exit returns to the dashboard")
                status = nsenter.run(host, entry)
        except CgscopeError as exc:
            self.notify(visible(str(exc)), title="cgscope", severity="error")
            return
        except SuspendNotSupported:
            self.notify("this terminal cannot suspend the dashboard: use 'cgscope nsenter'", severity="error")
            return
        self.notify(f"the shell in {selected.label} exited with status {status}", title="cgscope")
        self.refresh_now()

    def _finished(self) -> None:
        self._sampling = False
        if self._again:
            self._again = False
            self.refresh_now()
        else:
            self._schedule()


def run_dashboard(root: Path, *, interval: float = DEFAULT_INTERVAL, read_only: bool = False) -> int:
    """Open the dashboard on the host under `root`. It is read-only when asked, when not root, and on a
    captured tree (another root than "/")."""
    host = HostRoot.at(root)
    host.mode  # noqa: B018 - raises NoCgroups before the screen is taken over
    if not sys.stdout.isatty():
        raise CgscopeError("stdout is not a terminal: use `cgscope top` or `containers --json`")
    why = "started with --read-only"
    if os.geteuid() != 0:
        why = "not root: only root may change cgroups"
    elif root != Path("/"):
        why = f"{root} is a captured tree (--root), not this host"
    read_only = read_only or os.geteuid() != 0 or root != Path("/")
    sampler = Sampler(host, LIMITS_SECONDS, REGROUP_SECONDS)
    app = CgscopeApp(sampler, interval=interval, read_only=read_only, why_read_only=why)
    app.run()
    return app.return_code or 0
