"""What every dashboard screen shares: the header, the footer, and how a refresh reaches it.

The app's worker posts one Frame per refresh; the app hands it to the screen on top, which draws it
(`draw`), and a screen that comes back into view draws the latest Frame. A screen names the costly
parts of a Frame it needs (`needs`); the next refresh reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Label

from cgscope.render.columns import Column
from cgscope.tui.actions import Selection
from cgscope.tui.sampler import Frame, Need
from cgscope.tui.widgets.filter import FilterBar
from cgscope.tui.widgets.header import HostHeader
from cgscope.tui.widgets.table import SortableTable
from cgscope.tui.widgets.views import ViewTabs

if TYPE_CHECKING:
    from cgscope.tui.app import CgscopeApp

T = TypeVar("T")


class DataScreen(Screen[None]):
    NEEDS: ClassVar[frozenset[Need]] = frozenset()
    VIEW: ClassVar[str | None] = None  # the view (app mode) this screen is the first screen of

    def __init__(self) -> None:
        super().__init__()
        self.drawn: Frame | None = None

    @property
    def dashboard(self) -> CgscopeApp:
        from cgscope.tui.app import CgscopeApp

        return cast(CgscopeApp, self.app)

    def needs(self) -> frozenset[Need]:
        return self.NEEDS

    def compose(self) -> ComposeResult:
        yield HostHeader(self.dashboard.host.mode, clock=self.dashboard.clock)
        if self.VIEW is not None:
            yield ViewTabs(self.VIEW)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.sync_header()

    def on_screen_resume(self) -> None:
        self.sync_header()
        frame = self.dashboard.frame
        if frame is not None and frame is not self.drawn:
            self.show(frame)
        if frame is None or not self.satisfied_by(frame):
            self.dashboard.refresh_now()

    def detail_key(self) -> str | None:
        """The container whose details (usage of its processes, its /proc view) this screen shows."""
        return None

    def selection(self, *, process: bool = False) -> Selection | None:
        """What the change keys act on here: the selected container or process (with `process`, only
        a process), or None."""
        return None

    def sync_header(self) -> None:
        header = self.query_one(HostHeader)
        header.read_only = self.dashboard.read_only
        header.interval = self.dashboard.interval

    def satisfied_by(self, frame: Frame) -> bool:
        needs = self.needs()
        return not (
            (Need.PROCESSES in needs and frame.processes is None)
            or (Need.TREES in needs and frame.trees is None)
        )

    def show(self, frame: Frame) -> None:
        """Draw a Frame: the header always, the body once the Frame holds what it needs."""
        self.query_one(HostHeader).show(frame)
        if self.satisfied_by(frame):
            self.drawn = frame
            self.draw(frame)

    def draw(self, frame: Frame) -> None:
        raise NotImplementedError

    def on_tabs_tab_activated(self, event: ViewTabs.TabActivated) -> None:
        if not isinstance(event.tabs, ViewTabs):
            return
        event.stop()
        view = event.tab.id
        if view is not None and view != self.dashboard.current_mode:
            self.dashboard.switch_mode(view)


class TableScreen(DataScreen, Generic[T]):
    """A screen whose body is one sortable table with a filter line."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("slash", "filter", "Filter", key_display="/")]
    SORT: ClassVar[str | None] = None
    REVERSE: ClassVar[bool] = False
    AUTO_FOCUS = "SortableTable"

    def compose_body(self) -> ComposeResult:
        yield Label("reading…", id="caption", markup=False)
        yield SortableTable[T](self.columns(), sort=self.SORT, reverse=self.REVERSE)
        yield FilterBar()

    def columns(self) -> list[Column[T]]:
        raise NotImplementedError

    @property
    def table(self) -> SortableTable[T]:
        return cast(SortableTable[T], self.query_one(SortableTable))

    def draw(self, frame: Frame) -> None:
        self.table.show(list(self.rows(frame)))
        self.query_one("#caption", Label).update(self.caption(frame))

    def rows(self, frame: Frame) -> Iterable[tuple[str, T]]:
        raise NotImplementedError

    def caption(self, frame: Frame) -> str:
        raise NotImplementedError

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_input_changed(self, event: FilterBar.Changed) -> None:
        self.table.filter_text = event.value

    def on_filter_bar_closed(self) -> None:
        self.table.focus()
