"""A refresh in which no container's figures changed reads no container's cells again: the seconds
between two samples, which differ by milliseconds every refresh and which no cell shows, do not make
a row new."""

from __future__ import annotations

from fakehost import FakeHost

from cgscope.tui.widgets.table import SortableTable

from .conftest import AppFactory, drawn, refreshed


async def test_rows_whose_figures_did_not_change_are_not_read_again(
    host: FakeHost, make_app: AppFactory
) -> None:
    app = make_app(host)  # a fixture host: its counters do not move between refreshes
    async with app.run_test(size=(160, 40)) as pilot:
        await drawn(pilot)
        screen = await refreshed(pilot)  # the second sample: rates known, every row read again
        table = screen.query_one(SortableTable)
        read = table.counters.read
        assert app.frame is not None and app.frame.usage is not None
        for _ in range(2):
            await refreshed(pilot)
        assert table.counters.read == read
