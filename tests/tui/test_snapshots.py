"""Screenshots of the main screens on a fixed fake host, compared with the accepted ones in
__snapshots__/ (update them with `pytest tests/tui --snapshot-update` after checking the change)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from fakehost import FakeHost
from hosts.dashboard import DOCKER_ID
from textual.pilot import Pilot

from cgscope.tui.widgets.table import SortableTable

from .conftest import AppFactory, drawn

SnapCompare = Callable[..., bool]


def after(*keys: str, docker_row: bool = False) -> Callable[[Pilot[int]], Awaitable[None]]:
    """Wait for the first refresh, put the cursor on the Docker container if asked, press `keys` and
    wait until whatever screen they open has drawn."""

    async def run(pilot: Pilot[int]) -> None:
        await drawn(pilot)
        if docker_row:
            table = pilot.app.screen.query_one(SortableTable)
            table.move_cursor(row=table.shown_keys.index(DOCKER_ID))
        for key in keys:
            await pilot.press(key)
            await drawn(pilot)

    return run


@pytest.mark.parametrize(
    "run_before",
    [
        pytest.param(after(), id="containers"),
        pytest.param(after("enter", docker_row=True), id="container_detail"),
        pytest.param(after("enter", "n", docker_row=True), id="container_namespaces"),
        pytest.param(after("2"), id="tree"),
        pytest.param(after("3"), id="namespaces"),
        pytest.param(after("4"), id="processes"),
    ],
)
def test_screen(
    run_before: Callable[[Pilot[int]], Awaitable[None]],
    host: FakeHost,
    make_app: AppFactory,
    snap_compare: SnapCompare,
) -> None:
    assert snap_compare(make_app(host), terminal_size=(80, 24), run_before=run_before)


def test_help(host: FakeHost, make_app: AppFactory, snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[int]) -> None:
        await drawn(pilot)
        await pilot.press("question_mark")

    assert snap_compare(make_app(host), terminal_size=(80, 24), run_before=run_before)


def test_light_theme(host: FakeHost, make_app: AppFactory, snap_compare: SnapCompare) -> None:
    app = make_app(host)
    app.theme = "textual-light"
    assert snap_compare(app, terminal_size=(80, 24), run_before=after())
