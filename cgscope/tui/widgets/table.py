"""A table whose rows are sorted by any column (keys or a click on the header) and filtered by text.

A screen gives its columns (render/columns specs, shared with the one-shot commands' tables) and hands the
table its items after each refresh with `show()`; the table keeps the cursor on the same item across
refreshes, sorts and filters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from rich.cells import cell_len
from rich.markup import escape
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import DataTable

from cgscope.render.columns import Cell, Column

T = TypeVar("T")
MAX_WIDTH = 512  # cells: a longer value (a command line) is cut
BAR_WIDTH = 5  # cells of a usage bar
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(percent: float) -> str:
    """A bar BAR_WIDTH cells wide on a light track, full at 100 % (and beyond), in eighths of a cell."""
    eighths = round(max(0.0, min(percent, 100.0)) / 100 * BAR_WIDTH * 8)
    full, rest = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[rest] if rest else "")).ljust(BAR_WIDTH, "░")


def _width(cell: Cell, spec: Column[Any]) -> int:
    """Cells the drawn value takes: a share of a limit gets a bar before its text."""
    return cell_len(cell.text) + (BAR_WIDTH + 1 if spec.bar else 0)


@dataclass(frozen=True, slots=True)
class _Row:
    key: str
    cells: tuple[Cell, ...]

    def holds(self, needle: str) -> bool:
        """Whether any cell's text holds `needle` (lower-case), whatever the case."""
        return any(needle in c.text.lower() for c in self.cells)


def _sort_key(index: int, reverse: bool) -> Callable[[_Row], tuple[bool, bool, Any]]:
    def key(row: _Row) -> tuple[bool, bool, Any]:
        value = row.cells[index].sort
        # Unknown values last in either direction; numbers before text should a column mix them.
        if value is None:
            return not reverse, False, ""
        text = isinstance(value, str)
        return reverse, text != reverse, value.lower() if isinstance(value, str) else value

    return key


def _drawn(cell: Cell, spec: Column[Any], width: int) -> str | Text:
    """What the DataTable draws: a str is read as markup there, so the data's brackets are escaped. A share
    of a limit is drawn as a bar, its value bold past 90 % (no fixed colour: every theme draws it)."""
    if spec.bar:
        if cell.percent is None:
            return Text(f"{'':{BAR_WIDTH}} {cell.text}")
        return Text.assemble(bar(cell.percent), (f" {cell.text}", "bold" if cell.percent > 90 else ""))
    text = escape(cell.text) if "[" in cell.text else cell.text
    return " " * (width - cell_len(cell.text)) + text if spec.justify == "right" else text


class SortableTable(DataTable[str | Text], Generic[T]):
    """Rows of items of type T, keyed by a string; `<` `>` choose the sort column, `i` inverts it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("less_than_sign", "sort_by(-1)", "Sort ←", key_display="<"),
        Binding("greater_than_sign", "sort_by(1)", "Sort →", key_display=">"),
        Binding("i", "invert", "Invert", show=False),
    ]

    sort_column: reactive[str] = reactive("", init=False)
    reverse: reactive[bool] = reactive(False, init=False)
    filter_text: reactive[str] = reactive("", init=False)

    def __init__(
        self,
        columns: Sequence[Column[T]],
        *,
        sort: str | None = None,
        reverse: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.specs = list(columns)
        self._items: dict[str, T] = {}
        self._rows: list[_Row] = []
        self._shown: list[_Row] | None = None
        self._widths = [len(spec.header) + 1 for spec in self.specs]  # + 1: the sort mark
        self.set_reactive(SortableTable.sort_column, sort or self.specs[0].key)
        self.set_reactive(SortableTable.reverse, reverse)

    # -- data --------------------------------------------------------------------------------------

    def show(self, items: Sequence[tuple[str, T]]) -> None:
        """Replace the rows: (key, item) pairs, keys unique. Redraws only what changed."""
        self._items = dict(items)
        rows = []
        for key, item in items:
            rows.append(_Row(key, tuple(spec.cell(item) for spec in self.specs)))
        self._rows = rows
        # Widths fit every row, not only those the filter shows: columns stay put while one types.
        widths = [
            min(MAX_WIDTH, max([len(spec.header) + 1, *(_width(r.cells[i], spec) for r in rows)]))
            for i, spec in enumerate(self.specs)
        ]
        changed, self._widths = widths != self._widths, widths
        self._populate(columns_changed=changed)

    def item(self, key: str) -> T | None:
        return self._items.get(key)

    def cell(self, key: str, column: str) -> Cell:
        """The cell of row `key` in `column` (KeyError if there is none)."""
        index = next(i for i, spec in enumerate(self.specs) if spec.key == column)
        return next(r.cells[index] for r in self._rows if r.key == key)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any row is shown."""
        if self._shown is None or not 0 <= self.cursor_row < len(self._shown):
            return None
        return self._shown[self.cursor_row].key

    @property
    def shown_keys(self) -> list[str]:
        """The keys of the rows shown, in order (after the filter and the sort)."""
        return [r.key for r in self._shown or []]

    # -- sort and filter ---------------------------------------------------------------------------

    def watch_sort_column(self) -> None:
        self._populate(columns_changed=True)

    def watch_reverse(self) -> None:
        self._populate(columns_changed=True)

    def watch_filter_text(self) -> None:
        self._populate()

    def action_sort_by(self, step: int) -> None:
        keys = [s.key for s in self.specs]
        self.sort_column = keys[(keys.index(self.sort_column) + step) % len(keys)]

    def action_invert(self) -> None:
        self.reverse = not self.reverse

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by that column; a second click inverts the order."""
        event.stop()
        key = str(event.column_key.value)
        if key == self.sort_column:
            self.reverse = not self.reverse
        else:
            self.sort_column = key

    def _header(self, spec: Column[T]) -> Text:
        label = Text(spec.header, justify=spec.justify)
        if spec.key == self.sort_column:
            label.append("▼" if self.reverse else "▲", style="bold")
        return label

    def _populate(self, columns_changed: bool = False) -> None:
        index = next(i for i, s in enumerate(self.specs) if s.key == self.sort_column)
        needle = self.filter_text.lower()
        rows = [r for r in self._rows if r.holds(needle)] if needle else list(self._rows)
        rows.sort(key=_sort_key(index, self.reverse), reverse=self.reverse)
        shown = self._shown
        if not columns_changed and shown is not None and [r.key for r in rows] == [r.key for r in shown]:
            self._update_cells(shown, rows)  # the same rows in the same order: redraw changed cells only
        else:
            self._rebuild(rows)
        self._shown = rows

    def _values(self, row: _Row) -> list[str | Text]:
        return [
            _drawn(cell, spec, width)
            for cell, spec, width in zip(row.cells, self.specs, self._widths, strict=True)
        ]

    def _update_cells(self, old: list[_Row], new: list[_Row]) -> None:
        for before, after in zip(old, new, strict=True):
            if before.cells == after.cells:
                continue
            values = self._values(after)
            for spec, was, cell, value in zip(self.specs, before.cells, after.cells, values, strict=True):
                if was != cell:
                    self.update_cell(after.key, spec.key, value)

    def _rebuild(self, rows: list[_Row]) -> None:
        selected = self.selected_key
        scroll_y = self.scroll_y
        self.clear(columns=True)
        for spec, width in zip(self.specs, self._widths, strict=True):
            self.add_column(self._header(spec), key=spec.key, width=width)
        for row in rows:
            self.add_row(*self._values(row), key=row.key)
        keys = [r.key for r in rows]
        if selected in keys:
            self.move_cursor(row=keys.index(selected), animate=False, scroll=False)
        self.scroll_to(y=scroll_y, animate=False, immediate=True)
        self._scroll_cursor_into_view()
