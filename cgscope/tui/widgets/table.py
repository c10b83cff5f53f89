"""A table whose rows are sorted by any column (keys or a click on the header) and filtered by text.

A screen gives its columns (render/columns specs, shared with the one-shot commands' tables) and hands the
table its items after each refresh with `show()`; the table keeps the cursor on the same item across
refreshes, sorts and filters.

Drawn with Textual's line API, not its DataTable (which draws every visible cell again on any change):
a row's cells are read from its item only when the item changed (tui/widgets/row_store.py); each row
is laid out once, as one Text (tui/widgets/rows.py), and kept until its cells change; a refresh lays
out again only the rows that changed and are on screen, and repaints only their lines. Out of sight
(a pane not open), it reads the items it is given once it shows. `counters` says what it did.
Columns that do not fit the width give way, the least important first (render/table.fit), with a `›` at
the right of the header; the first column stays in place while the others scroll sideways.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cgscope.render.columns import Cell, Column
from cgscope.render.table import MORE, fit
from cgscope.tui.widgets.row_store import Counters, RowStore
from cgscope.tui.widgets.rows import PAD, Palette, Row, header_text, row_text, sort_key

T = TypeVar("T")
_GAP = 2 * PAD


class SortableTable(ScrollView, Generic[T], can_focus=True):
    """Rows of items of type T, keyed by a string; `<` `>` choose the sort column, `i` inverts it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor(-1000000000)", "First row", show=False),
        Binding("end", "cursor(1000000000)", "Last row", show=False),
        Binding("left", "sideways(-1)", "Scroll left", show=False),
        Binding("right", "sideways(1)", "Scroll right", show=False),
        Binding(
            "less_than_sign", "sort_by(-1)", "Sort by the column to the left", show=False, key_display="<"
        ),
        Binding(
            "greater_than_sign", "sort_by(1)", "Sort by the column to the right", show=False, key_display=">"
        ),
        Binding("i", "invert", "Invert the order", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "sortable-table--header",
        "sortable-table--even-row",
        "sortable-table--cursor",
        "sortable-table--fixed",
        "sortable-table--warning",
        "sortable-table--error",
        "sortable-table--bar",
        "sortable-table--track",
        "sortable-table--mark",
    }

    class RowSelected(Message):
        """A row was chosen (a click on the row under the cursor)."""

        def __init__(self, table: SortableTable[Any], key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

    class CursorMoved(Message):
        """The cursor is on another row (or on none): what acts on the selection may have changed."""

        def __init__(self, table: SortableTable[Any]) -> None:
            super().__init__()
            self.table = table

    sort_column: reactive[str] = reactive("", init=False)
    reverse: reactive[bool] = reactive(False, init=False)
    filter_text: reactive[str] = reactive("", init=False)
    order_given: reactive[bool] = reactive(False, init=False)  # rows in the order given (a tree), unsorted

    def __init__(
        self,
        columns: Sequence[Column[T]],
        *,
        sort: str | None = None,
        reverse: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.specs = list(columns)
        self.counters = Counters()
        self._store = RowStore(self.specs, self.counters)
        self._pending: Sequence[tuple[str, T]] | None = None  # given, not read yet (out of sight)
        self._shown: list[Row] = []
        self._position: dict[str, int] = {}  # key -> index in _shown
        self._widths = [len(spec.header) + 1 for spec in self.specs]  # + 1: the sort mark
        self._kept: list[int] = list(range(len(self.specs)))  # the columns that fit, by index
        self._cursor = 0
        self._texts: dict[str, Strip] = {}  # each row's layout, whole, by key
        self._lines: dict[str, tuple[tuple[int, ...], Strip]] = {}  # each row's line as last drawn
        self._header: Strip | None = None
        self.set_reactive(SortableTable.sort_column, sort or self.specs[0].key)
        self.set_reactive(SortableTable.reverse, reverse)

    # -- data --------------------------------------------------------------------------------------

    def show(self, items: Sequence[tuple[str, T]]) -> None:
        """Replace the rows: (key, item) pairs, keys unique. Reads, lays out and repaints only what
        changed; out of sight, only keeps them until the table shows."""
        self._pending = items
        if self.is_on_screen:
            self._catch_up()

    def on_show(self) -> None:
        self._catch_up()

    def _catch_up(self) -> None:
        """Read the items given last, if not yet (before anything is asked of the rows)."""
        if self._pending is None:
            return
        changed, same_rows = self._store.update(self._pending)
        self._pending = None
        if same_rows and not changed:
            return
        for key in changed:
            self._texts.pop(key, None)
            self._lines.pop(key, None)
        widths = self._store.widths(changed, same_rows, self._widths)
        relayout, self._widths = widths != self._widths, widths
        self._populate(relayout=relayout, changed=changed)

    def item(self, key: str) -> T | None:
        self._catch_up()
        return self._store.items.get(key)

    def cell(self, key: str, column: str) -> Cell:
        """The cell of row `key` in `column` (KeyError if there is none)."""
        self._catch_up()
        index = next(i for i, spec in enumerate(self.specs) if spec.key == column)
        return next(r.cells[index] for r in self._store.rows if r.key == key)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any row is shown."""
        self._catch_up()
        return self._shown[self._cursor].key if 0 <= self._cursor < len(self._shown) else None

    @property
    def shown_keys(self) -> list[str]:
        """The keys of the rows shown, in order (after the filter and the sort)."""
        self._catch_up()
        return [r.key for r in self._shown]

    @property
    def shown_columns(self) -> list[str]:
        """The keys of the columns that fit the width, in order."""
        self._catch_up()
        return [self.specs[i].key for i in self._kept]

    @property
    def cursor_row(self) -> int:
        return self._cursor

    def header_line(self) -> str:
        """The header as drawn (its text), for what a screen or a test says of it."""
        return self._header_strip().text

    def row_line(self, key: str) -> str:
        """Row `key` as drawn in full (its text)."""
        self._catch_up()
        return self._row_strip(self._shown[self._position[key]]).text

    # -- sort and filter ---------------------------------------------------------------------------

    def watch_sort_column(self) -> None:
        self._new_header()

    def watch_reverse(self) -> None:
        self._new_header()

    def watch_filter_text(self) -> None:
        self._populate()

    def watch_order_given(self) -> None:
        self._new_header()

    def _new_header(self) -> None:
        """The sort mark moved: the header is drawn again, the rows keep their layout (in a new order)."""
        self._header = None
        self.refresh(Region(0, 0, self.size.width, 1))
        self._populate()

    def action_sort_by(self, step: int) -> None:
        keys = [self.specs[i].key for i in self._kept]
        at = keys.index(self.sort_column) if self.sort_column in keys else 0
        self.sort_column = keys[(at + step) % len(keys)]

    def action_invert(self) -> None:
        self.reverse = not self.reverse

    def _populate(self, *, relayout: bool = False, changed: Sequence[str] = ()) -> None:
        """Filter and sort the rows, keep the cursor on its row, and repaint what needs it."""
        selected = self._shown[self._cursor].key if 0 <= self._cursor < len(self._shown) else None
        needle = self.filter_text.lower()
        rows = [r for r in self._store.rows if r.holds(needle)] if needle else list(self._store.rows)
        if not self.order_given:
            index = next(i for i, s in enumerate(self.specs) if s.key == self.sort_column)
            rows.sort(key=sort_key(index, self.reverse), reverse=self.reverse)
        same_order = [r.key for r in rows] == [r.key for r in self._shown]
        self._shown = rows
        self._position = {r.key: i for i, r in enumerate(rows)}
        if selected in self._position:
            self._cursor = self._position[selected]
        self._cursor = max(0, min(self._cursor, len(rows) - 1))
        if relayout or not self._fits():
            self._layout()
        elif same_order:
            for key in changed:
                if key in self._position:
                    self.refresh_line(self._position[key] + 1)
        else:
            self.refresh()
        self.virtual_size = Size(self._total_width(), len(rows) + 1)
        if selected != self.selected_key:
            self.post_message(self.CursorMoved(self))

    # -- layout ------------------------------------------------------------------------------------

    def _room(self) -> int:
        return self.scrollable_content_region.width or self.size.width

    def _fits(self) -> bool:
        return self._kept == fit(self.specs, self._widths, self._room(), _GAP, len(MORE) + 1)

    def _layout(self) -> None:
        """Choose the columns for the width, forget every layout, repaint."""
        self._kept = fit(self.specs, self._widths, self._room(), _GAP, len(MORE) + 1)
        self._forget()
        self.refresh()

    def _forget(self) -> None:
        """Every row's layout and line, and the header, drawn again when they show."""
        self._texts.clear()
        self._lines.clear()
        self._header = None

    def _total_width(self) -> int:
        return sum(self._widths[i] + _GAP for i in self._kept)

    def on_resize(self, _event: events.Resize) -> None:
        self._layout()
        self.virtual_size = Size(self._total_width(), len(self._shown) + 1)

    def notify_style_update(self) -> None:
        """The theme or the focus changed the styles: every row is drawn again."""
        super().notify_style_update()
        self._palette = None
        self._forget()

    _palette: Palette | None = None

    @property
    def palette(self) -> Palette:
        if self._palette is None:
            self._palette = Palette.of(lambda name: self.get_component_rich_style(f"sortable-table--{name}"))
        return self._palette

    # -- drawing -----------------------------------------------------------------------------------

    def _row_strip(self, row: Row) -> Strip:
        strip = self._texts.get(row.key)
        if strip is None:
            strip = self._texts[row.key] = self._lay_out(row)
        return strip

    def _lay_out(self, row: Row) -> Strip:
        """A row's Text for the columns shown, as one strip: the only place a row's text is rendered."""
        specs = [self.specs[i] for i in self._kept]
        text = row_text(
            [row.cells[i] for i in self._kept], specs, [self._widths[i] for i in self._kept], self.palette
        )
        self.counters.laid_out += 1
        return Strip(list(text.render(self.app.console)), text.cell_len)

    def _header_strip(self) -> Strip:
        if self._header is None:
            specs = [self.specs[i] for i in self._kept]
            sort = "" if self.order_given else self.sort_column
            sizes = [self._widths[i] for i in self._kept]
            text = header_text(specs, sizes, sort, self.reverse, self.palette)
            self._header = Strip(list(text.render(self.app.console)), text.cell_len)
        return self._header

    def _scrolled(self, strip: Strip, width: int, fixed_style: Style | None) -> Strip:
        """The visible part: the first column in place, the others scrolled sideways."""
        fixed = self._widths[self._kept[0]] + _GAP if self._kept else 0
        x = int(self.scroll_offset.x)
        head = strip.crop(0, fixed)
        if fixed_style is not None:
            head = head.apply_style(fixed_style)
        tail = strip.crop(fixed + x, fixed + x + max(0, width - fixed))
        return Strip.join([head, tail]).extend_cell_length(width)

    def render_line(self, y: int) -> Strip:
        width = self._room()
        if y == 0:
            header = self._scrolled(self._header_strip(), width, None)
            if len(self._kept) < len(self.specs):  # columns left out: say so at the right
                more = Strip([Segment(MORE, self.palette.mark)], len(MORE))
                header = Strip.join([header.crop(0, width - len(MORE)), more])
            return header.apply_style(self.palette.header)
        index = int(self.scroll_offset.y) + y - 1
        if not 0 <= index < len(self._shown):
            return Strip.blank(width, self.rich_style)
        row = self._shown[index]
        cursor, striped = index == self._cursor, index % 2 == 1
        variant = (int(cursor), int(striped), int(self.has_focus), int(self.scroll_offset.x), width)
        drawn = self._lines.get(row.key)
        if drawn is not None and drawn[0] == variant:
            return drawn[1]
        self.counters.drawn += 1
        fixed_style = None if cursor else self.get_component_rich_style("sortable-table--fixed")
        line = self._scrolled(self._row_strip(row), width, fixed_style)
        if cursor:
            line = line.apply_style(self.get_component_rich_style("sortable-table--cursor"))
        elif striped:
            line = line.apply_style(self.get_component_rich_style("sortable-table--even-row"))
        line = line.apply_style(self.rich_style)  # the table's own colours under what is unstyled
        self._lines[row.key] = (variant, line)
        return line

    # -- the cursor, the mouse ---------------------------------------------------------------------

    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        """Put the cursor on the row at `row` (clamped) and, with `scroll`, bring it into view."""
        before = self._cursor
        self._cursor = max(0, min(row, len(self._shown) - 1))
        if before != self._cursor:
            self.refresh_line(before + 1)
            self.refresh_line(self._cursor + 1)
            self.post_message(self.CursorMoved(self))
        if scroll:
            self._scroll_cursor_into_view()

    def _scroll_cursor_into_view(self) -> None:
        rows = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_offset.y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + rows:
            self.scroll_to(y=self._cursor - rows + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self._cursor + step)

    def action_page(self, step: int) -> None:
        self.move_cursor(row=self._cursor + step * max(1, self.scrollable_content_region.height - 1))

    def action_sideways(self, step: int) -> None:
        self.scroll_to(x=self.scroll_offset.x + step * 8, animate=False)

    def on_click(self, event: events.Click) -> None:
        """A click on a header sorts by its column (again: inverts); on a row, moves the cursor there,
        and a click on the row under the cursor chooses it."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            key = self._column_at(offset.x)
            if key is not None and not self.order_given:
                if key == self.sort_column:
                    self.reverse = not self.reverse
                else:
                    self.sort_column = key
            return
        index = int(self.scroll_offset.y) + offset.y - 1
        if 0 <= index < len(self._shown):
            if index == self._cursor:
                self.post_message(self.RowSelected(self, self._shown[index].key))
            self.move_cursor(row=index)

    def _column_at(self, x: int) -> str | None:
        fixed = self._widths[self._kept[0]] + _GAP if self._kept else 0
        at = x if x < fixed else x + int(self.scroll_offset.x)
        for i in self._kept:
            at -= self._widths[i] + _GAP
            if at < 0:
                return self.specs[i].key
        return None
