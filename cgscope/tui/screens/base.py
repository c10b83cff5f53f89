"""What every dashboard screen shares: the header, the footer, and how a refresh reaches it.

Data flows down, messages up: the app's worker posts one Frame per refresh and the app hands it to the
screen on top (`show`, which draws it with `draw`) along with the refresh interval (`sync_header`). A
screen that comes back into view posts `Resumed`, and the app answers with the latest Frame (and a refresh
when that Frame lacks what the screen needs). A screen names the costly parts of a Frame it needs
(`needs`); the next refresh reads them. Screens never reach into the app.

The footer shows the change keys that act on the selected row (`row_actions`): each screen binds them
(`ROW_KEYS`) to `act`, enabled only for what applies; the app's own bindings of the same keys, hidden,
answer the others with why nothing happens.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Generic, TypeVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Label

from cgscope.fs.hostroot import HostRoot
from cgscope.render.columns import Column
from cgscope.render.table import visible
from cgscope.sampling import Frame, Need
from cgscope.tui.actions import Selection
from cgscope.tui.session import Session
from cgscope.tui.widgets.filter import FilterBar
from cgscope.tui.widgets.header import HostHeader
from cgscope.tui.widgets.steady import put
from cgscope.tui.widgets.table import SortableTable
from cgscope.tui.widgets.views import ViewTabs

T = TypeVar("T")

# The change keys as the footer shows them: (key, app action, label, what it does).
ROW_KEYS = (
    ("l", "limit", "Limit", "limit the selected container or process (a form)"),
    ("m", "move", "Move", "move the selected process into another cgroup (a form)"),
    ("f", "freeze", "Freeze", "freeze the selected container, or thaw it"),
    ("e", "nsenter", "Shell", "a shell inside the selected container; exit comes back"),
    ("k", "kill", "Kill", "a signal to the selected process (a container's init)"),
)
ROW_BINDINGS: list[BindingType] = [
    Binding(key, f"act('{action}')", label, tooltip=what) for key, action, label, what in ROW_KEYS
]
CONTAINER_ACTIONS = frozenset({"limit", "freeze", "nsenter", "kill"})  # on a container
PROCESS_ACTIONS = frozenset(
    {"limit", "move", "nsenter", "kill"}
)  # on a user process (and freeze, inside one)


def not_recorded(needs: frozenset[Need]) -> str:
    """Why a replay shows nothing here: `cgscope record` keeps the containers view and the host only."""
    what = " and ".join(
        text
        for need, text in ((Need.PROCESSES, "every process"), (Need.TREES, "the cgroup trees"))
        if need in needs
    )
    return (
        f"not recorded: this view needs {what}; `cgscope record` keeps the containers (1) and their details"
    )


FILTER_BINDING = Binding("slash", "filter", "Filter", key_display="/", tooltip="narrow the rows to a text")


class DataScreen(Screen[None]):
    NEEDS: ClassVar[frozenset[Need]] = frozenset()
    VIEW: ClassVar[str | None] = None  # the view (app mode) this screen is the first screen of

    class Resumed(Message):
        """The screen is back in view: it wants the latest Frame and the interval."""

        def __init__(self, data_screen: DataScreen) -> None:
            super().__init__()
            self.data_screen = data_screen

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.drawn: Frame | None = None
        self.interval = 0.0  # seconds between refreshes, as the app last said

    @property
    def host(self) -> HostRoot:
        return self.session.host

    def needs(self) -> frozenset[Need]:
        return self.NEEDS

    def compose(self) -> ComposeResult:
        yield HostHeader(self.host.mode, clock=self.session.clock, replay=self.session.replay)
        if self.VIEW is not None:
            yield ViewTabs(self.VIEW)
        if self.session.replay is not None:
            notice = Label(not_recorded(self.needs()), id="not-recorded", markup=False)
            notice.display = False
            notice.styles.width = "100%"  # wrapped to the screen: it is longer than 80 columns
            yield notice
        yield from self.compose_body()
        yield Footer(compact=True, show_command_palette=False)  # 80 columns: the change keys come first

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def on_screen_resume(self) -> None:
        self.post_message(self.Resumed(self))

    def detail_key(self) -> str | None:
        """The container whose details (usage of its processes, its /proc view) this screen shows."""
        return None

    def selection(self, *, process: bool = False) -> Selection | None:
        """What the change keys act on here: the selected container or process (with `process`, only
        a process), or None."""
        return None

    def row_actions(self) -> frozenset[str]:
        """The change keys' actions that apply to the selection (the footer shows them)."""
        return frozenset()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act":
            return parameters[0] in self.row_actions()
        return True

    async def action_act(self, action: str) -> None:
        """A change key on what it applies to: the app opens its form."""
        await self.app.run_action(action)

    def on_sortable_table_cursor_moved(self) -> None:
        self.refresh_bindings()

    def sync_header(self, interval: float) -> None:
        self.interval = interval
        header = self.query_one(HostHeader)
        header.read_only = self.session.read_only
        header.interval = interval

    def show_failure(self, line: str | None) -> None:
        """Why the last refresh failed, in the header, or None once one succeeded."""
        if self.is_mounted:
            self.query_one(HostHeader).show_failure(line)

    def satisfied_by(self, frame: Frame) -> bool:
        """Whether the screen can draw this Frame."""
        needs = self.needs()
        return not (
            (Need.PROCESSES in needs and frame.processes is None)
            or (Need.TREES in needs and frame.trees is None)
        )

    def complete(self, frame: Frame) -> bool:
        """Whether this Frame holds all the screen shows (else the app refreshes at once)."""
        return self.satisfied_by(frame)

    def show(self, frame: Frame) -> None:
        """Draw a Frame: the header always, the body once the Frame holds what it needs. A screen not
        mounted yet draws none: once it is, it posts Resumed and gets the latest."""
        if not self.is_mounted:
            return
        self.query_one(HostHeader).show(frame)
        satisfied = self.satisfied_by(frame)
        if self.session.replay is not None:
            self.query_one("#not-recorded", Label).display = not satisfied
        if satisfied:
            self.drawn = frame
            self.draw(frame)

    def draw(self, frame: Frame) -> None:
        raise NotImplementedError

    def on_tabs_tab_activated(self, event: ViewTabs.TabActivated) -> None:
        if not isinstance(event.tabs, ViewTabs):
            return
        event.stop()
        view = event.tab.id
        if view is not None and view != self.app.current_mode:
            self.app.switch_mode(view)


class TableScreen(DataScreen, Generic[T]):
    """A screen whose body is one sortable table with a filter line (FILTER_BINDING, which each screen
    lists after its own keys)."""

    SORT: ClassVar[str | None] = None
    REVERSE: ClassVar[bool] = False
    AUTO_FOCUS = "SortableTable"

    def compose_body(self) -> ComposeResult:
        yield Label("reading…", id="caption", markup=False)
        table = SortableTable[T](self.columns(), sort=self.SORT, reverse=self.REVERSE)
        yield table
        yield FilterBar(table)

    def columns(self) -> list[Column[T]]:
        raise NotImplementedError

    @property
    def table(self) -> SortableTable[T]:
        return cast(SortableTable[T], self.query_one(SortableTable))

    def draw(self, frame: Frame) -> None:
        self.table.show(list(self.rows(frame)))
        put(self.query_one("#caption", Label), visible(self.caption(frame)))

    def rows(self, frame: Frame) -> Iterable[tuple[str, T]]:
        raise NotImplementedError

    def caption(self, frame: Frame) -> str:
        raise NotImplementedError

    def open_row(self, key: str) -> None:
        """What Enter (or a click) on the row `key` opens: nothing, unless a screen says."""

    def action_open(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.open_row(key)

    def on_sortable_table_row_selected(self, event: SortableTable.RowSelected) -> None:
        event.stop()
        self.open_row(event.key)

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_input_changed(self, event: FilterBar.Changed) -> None:
        self.table.filter_text = event.value
