"""What a refresh costs the table to draw: a row is laid out only when its cells change and it is on screen,
and once per refresh (Textual's DataTable drew every visible cell again on any change)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from textual.app import App, ComposeResult

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


def items(changed: dict[int, int] | None = None) -> list[tuple[str, Item]]:
    """200 rows, r000 to r199, each with a value; `changed`: other values for some."""
    values = {i: i for i in range(200)} | (changed or {})
    return [(f"r{i:03d}", Item(f"r{i:03d}", values[i])) for i in range(200)]


@pytest.fixture
def laid_out(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the rows laid out (their Text rendered), in order."""
    keys: list[str] = []
    real = SortableTable._lay_out

    def lay_out(self: SortableTable[Item], row: object) -> object:
        keys.append(row.key)  # type: ignore[attr-defined]
        return real(self, row)  # type: ignore[arg-type]

    monkeypatch.setattr(SortableTable, "_lay_out", lay_out)
    return keys


async def test_a_refresh_lays_out_only_the_rows_that_changed_on_screen(laid_out: list[str]) -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(SortableTable)
        table.show(items())
        await pilot.pause()
        on_screen = 20 - 1  # the header takes a line
        assert sorted(laid_out) == [f"r{i:03d}" for i in range(on_screen)]  # off-screen rows: never
        laid_out.clear()
        table.show(items({3: 1003, 7: 1007, 150: 1150}))  # two rows on screen change, one below
        await pilot.pause()
        assert sorted(laid_out) == ["r003", "r007"]  # once each, in one render
        laid_out.clear()
        table.show(items({3: 1003, 7: 1007, 150: 1150}))  # nothing changed
        await pilot.pause()
        assert laid_out == []
        table.move_cursor(row=150)  # scrolled to: the changed row is laid out when it shows
        await pilot.pause()
        assert "r150" in laid_out and "r003" not in laid_out
        assert table.render_line(1 + 150 - int(table.scroll_offset.y)).text.split() == ["r150", "1150"]
