"""What a refresh costs the table, read from its own counters: a row's cells are read only when its item
changed, a row is laid out only when its cells changed and it is on screen, once per refresh (Textual's
DataTable drew every visible cell again on any change), and a table out of sight reads nothing until it
shows."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App, ComposeResult
from textual.widgets import TabbedContent, TabPane

from cgscope.render.columns import Cell, Column
from cgscope.tui.widgets.table import SortableTable


@dataclass(frozen=True)
class Item:
    name: str
    value: int


COLUMNS = (
    Column[Item]("name", "NAME", lambda i: Cell.of(i.name), priority=0),
    Column[Item]("value", "VALUE", lambda i: Cell.of(i.value), "right"),
)


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SortableTable[Item](COLUMNS, id="table")


class PanesApp(App[None]):
    """A table in a pane not open, as a container's Processes pane behind its Usage pane."""

    def compose(self) -> ComposeResult:
        with TabbedContent(id="panes"):
            with TabPane("First", id="first"):
                yield SortableTable[Item](COLUMNS, id="front")
            with TabPane("Second", id="second"):
                yield SortableTable[Item](COLUMNS, id="behind")


def items(changed: dict[int, int] | None = None) -> list[tuple[str, Item]]:
    """200 rows, r000 to r199, each with a value; `changed`: other values for some."""
    values = {i: i for i in range(200)} | (changed or {})
    return [(f"r{i:03d}", Item(f"r{i:03d}", values[i])) for i in range(200)]


async def test_a_refresh_that_changes_one_row_of_200_reads_and_lays_out_that_row_alone() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(SortableTable)
        table.show(items())
        await pilot.pause()
        on_screen = 20 - 1  # the header takes a line
        assert table.counters.read == 200
        assert table.counters.laid_out == on_screen  # off-screen rows: never
        before = (table.counters.read, table.counters.laid_out, table.counters.drawn)
        table.show(items({5: 1005}))  # new items, equal but one
        await pilot.pause()
        read, laid_out, drawn = (table.counters.read, table.counters.laid_out, table.counters.drawn)
        assert (read - before[0], laid_out - before[1], drawn - before[2]) == (1, 1, 1)
        table.show(items({5: 1005}))  # nothing changed: nothing read, laid out or drawn
        await pilot.pause()
        assert (table.counters.read, table.counters.laid_out, table.counters.drawn) == (read, laid_out, drawn)


async def test_a_refresh_lays_out_only_the_rows_that_changed_on_screen() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(SortableTable)
        table.show(items())
        await pilot.pause()
        laid_out = table.counters.laid_out
        table.show(items({3: 1003, 7: 1007, 150: 1150}))  # two rows on screen change, one below
        await pilot.pause()
        assert table.counters.read == 200 + 3
        assert table.counters.laid_out - laid_out == 2  # once each, in one render
        laid_out = table.counters.laid_out
        table.move_cursor(row=150)  # scrolled to: the changed row is laid out when it shows
        await pilot.pause()
        assert table.counters.laid_out > laid_out
        assert table.render_line(1 + 150 - int(table.scroll_offset.y)).text.split() == ["r150", "1150"]


async def test_a_table_in_a_pane_not_open_reads_its_items_once_it_shows() -> None:
    app = PanesApp()
    async with app.run_test(size=(60, 20)) as pilot:
        behind = app.query_one("#behind", SortableTable)
        for value in range(3):  # three refreshes while the pane is closed
            behind.show(items({0: value}))
            await pilot.pause()
        assert behind.counters.read == 0 and behind.counters.laid_out == 0
        app.query_one(TabbedContent).active = "second"
        await pilot.pause()
        assert behind.counters.read == 200  # the last items only, once
        assert behind.cell("r000", "value").text == "2"
        assert behind.counters.laid_out == 20 - 1 - 2  # what the open pane shows (its tabs take 2)


async def test_what_is_asked_of_a_table_out_of_sight_is_its_last_items() -> None:
    app = PanesApp()
    async with app.run_test(size=(60, 20)) as pilot:
        behind = app.query_one("#behind", SortableTable)
        behind.show(items({0: 7}))
        await pilot.pause()
        assert behind.cell("r000", "value").text == "7"
        assert behind.shown_keys[:2] == ["r000", "r001"]
        assert behind.counters.laid_out == 0  # read to answer, never drawn
